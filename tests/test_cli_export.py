"""The exporter's file side, over a scripted page source: partial file, state, rename, resume.

The walk is faked here (the pagers have their own tests); the end-to-end runs against the
emulator are in test_cli_e2e.py.
"""

from __future__ import annotations

import asyncio
import csv
import errno
import fcntl
import io
import json
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from heymarket_async import (
    APIConnectionError,
    Contact,
    ContactField,
    InvalidRequestError,
    InvalidResponseError,
)
from heymarket_async._cli import _export
from heymarket_async._cli._export import (
    ExportFailedError,
    ExportOptions,
    ExportStatus,
    run_export,
)
from heymarket_async._cli._output import contact_line
from heymarket_async._cli._pages import open_pages
from heymarket_async._cli._progress import NullProgress
from heymarket_async._cli._state import (
    ExportPaths,
    ExportState,
    StateError,
    load_state,
    save_state,
)
from heymarket_async._sansio import parse_timestamp
from heymarket_async.testing import FakeHeymarket

from ._cli_helpers import listing, run

#: The contacts as the API sends them (the export's walk is raw), and typed (``--normalized``).
SENT = [{"id": i, "first": f"n{i}", "custom": {"7": f"v{i}"}} for i in range(1, 26)]
CONTACTS = [Contact(id=i, first=f"n{i}", custom={"7": f"v{i}"}) for i in range(1, 26)]


class ScriptedPages:
    """Pages of ``size`` from ``SENT`` (``raw``) or ``CONTACTS``; fails (or hangs) before page
    number ``stop_at``."""

    def __init__(
        self,
        start: Any,
        *,
        raw: bool = True,
        size: int = 10,
        stop_at: int | None = None,
        hang: asyncio.Event | None = None,
    ) -> None:
        self.index = 0 if start is None else start["index"]
        self.contacts: Sequence[Any] = SENT if raw else CONTACTS
        self.size = size
        self.stop_at = stop_at
        self.hang = hang
        self.closed = False

    async def pages(self) -> AsyncIterator[Sequence[Any]]:
        served = 0
        while self.index < len(CONTACTS):
            if self.stop_at is not None and served == self.stop_at:
                if self.hang is not None:
                    self.hang.set()
                    await asyncio.Event().wait()
                raise APIConnectionError("connection reset", method="POST", url="http://x/")
            await asyncio.sleep(0)  # a real walk awaits the network here
            page = self.contacts[self.index : self.index + self.size]
            self.index += len(page)
            served += 1
            yield page

    def position(self) -> Any:
        return {"index": self.index}

    async def aclose(self) -> None:
        self.closed = True


class StubClient:
    def __init__(self) -> None:
        self.field_calls = 0
        self.count_calls: list[Any] = []

    async def list_contact_fields(self) -> list[ContactField]:
        self.field_calls += 1
        return [ContactField(id=7, name="Plan")]

    async def count_contacts(self, *, since: Any = None) -> int:
        self.count_calls.append(since)
        return len(CONTACTS)


class RecordingProgress(NullProgress):
    def __init__(self) -> None:
        self.total: int | None = None
        self.done = 0

    def start(self, done: int) -> None:
        self.done = done

    def set_total(self, total: int) -> None:
        self.total = total

    def advance(self, n: int) -> None:
        self.done += n


async def export(
    tmp_path: Path,
    *,
    fmt: str = "jsonl",
    resume: bool = False,
    stop_at: int | None = None,
    hang: asyncio.Event | None = None,
    client: StubClient | None = None,
    want_total: bool = False,
    progress: RecordingProgress | None = None,
    status: ExportStatus | None = None,
    api: str = "v2",
    output: str | None = None,
    normalized: bool = False,
    formula_guard: bool = True,
) -> Any:
    pagers: list[ScriptedPages] = []

    def open_pages(client: Any, api: str, since: Any, position: Any, *, raw: bool) -> Any:
        pagers.append(ScriptedPages(position, raw=raw, stop_at=stop_at, hang=hang))
        return pagers[-1]

    options = ExportOptions(
        output=output or str(tmp_path / f"out.{fmt}"),
        format=fmt,
        api=api,
        resume=resume,
        source="http://127.0.0.1:1",
        normalized=normalized,
        formula_guard=formula_guard,
    )
    result = await run_export(
        client or StubClient(),  # type: ignore[arg-type]
        options,
        open_pages=open_pages,
        progress=progress or NullProgress(),
        stdout=io.BytesIO(),
        want_total=want_total,
        status=status,
    )
    assert all(p.closed for p in pagers)
    return result


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the lock a running export holds on its partial file."""
    with open(path, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def ids_in(path: Path) -> list[int]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


class TestFreshExport:
    async def test_writes_every_contact_and_cleans_up(self, tmp_path: Path) -> None:
        result = await export(tmp_path)
        assert result.contacts == 25
        assert ids_in(tmp_path / "out.jsonl") == list(range(1, 26))
        assert listing(tmp_path) == ["out.jsonl"]

    async def test_csv_asks_for_fields_once_and_writes_a_header(self, tmp_path: Path) -> None:
        client = StubClient()
        await export(tmp_path, fmt="csv", client=client)
        lines = (tmp_path / "out.csv").read_text().splitlines()
        assert lines[0].endswith(",note,Plan")
        assert lines[1].startswith("1,")
        assert lines[1].endswith(",v1")
        assert len(lines) == 26
        assert client.field_calls == 1

    async def test_total_is_counted_only_when_wanted(self, tmp_path: Path) -> None:
        quiet, shown = StubClient(), StubClient()
        await export(tmp_path, client=quiet)
        progress = RecordingProgress()
        await export(tmp_path, client=shown, want_total=True, progress=progress)
        assert quiet.count_calls == []
        assert shown.count_calls == [None]
        assert progress.done == 25

    async def test_to_stdout_leaves_no_files(self, tmp_path: Path) -> None:
        result = await export(tmp_path, output="-")
        assert result.contacts == 25
        assert listing(tmp_path) == []

    async def test_since_is_sent_as_rfc3339(self, tmp_path: Path) -> None:
        seen: list[Any] = []

        def open_pages(client: Any, api: str, since: Any, position: Any, *, raw: bool) -> Any:
            seen.append(since)
            return ScriptedPages(position, raw=raw)

        client = StubClient()
        since = datetime(2024, 5, 1, tzinfo=timezone.utc)
        await run_export(
            client,  # type: ignore[arg-type]
            ExportOptions(output=str(tmp_path / "o.jsonl"), since=since),
            open_pages=open_pages,
            progress=RecordingProgress(),
            stdout=io.BytesIO(),
            want_total=True,
        )
        assert seen == [since]
        assert client.count_calls == ["2024-05-01T00:00:00Z"]


class TestFailureAndResume:
    async def test_failure_keeps_the_flushed_pages_and_their_state(self, tmp_path: Path) -> None:
        with pytest.raises(ExportFailedError) as info:
            await export(tmp_path, stop_at=2)
        assert info.value.contacts == 20
        assert info.value.resumable
        assert not (tmp_path / "out.jsonl").exists()
        paths = ExportPaths.for_output(tmp_path / "out.jsonl")
        state = load_state(paths.state)
        assert state is not None
        assert (state.contacts, state.position) == (20, {"index": 20})
        assert state.bytes == paths.part.stat().st_size

    @pytest.mark.parametrize("fmt", ["jsonl", "csv"])
    async def test_resume_finishes_exactly_once(self, tmp_path: Path, fmt: str) -> None:
        with pytest.raises(ExportFailedError):
            await export(tmp_path, fmt=fmt, stop_at=1)
        client = StubClient()
        result = await export(tmp_path, fmt=fmt, resume=True, client=client)
        assert (result.contacts, result.resumed_from) == (25, 10)
        if fmt == "csv":
            lines = (tmp_path / "out.csv").read_text().splitlines()
            assert [int(line.split(",")[0]) for line in lines[1:]] == list(range(1, 26))
            assert client.field_calls == 0  # the header comes from the state
        else:
            assert ids_in(tmp_path / "out.jsonl") == list(range(1, 26))
        assert listing(tmp_path) == [f"out.{fmt}"]

    async def test_bytes_written_after_the_last_state_are_dropped(self, tmp_path: Path) -> None:
        # A kill between a page's write and its state: the page is in the file, not the state.
        with pytest.raises(ExportFailedError):
            await export(tmp_path, stop_at=1)
        paths = ExportPaths.for_output(tmp_path / "out.jsonl")
        append(paths.part, b'{"id": 11}\n{"id": 12')
        await export(tmp_path, resume=True)
        assert ids_in(tmp_path / "out.jsonl") == list(range(1, 26))

    async def test_without_resume_starts_over(self, tmp_path: Path) -> None:
        with pytest.raises(ExportFailedError):
            await export(tmp_path, stop_at=1)
        result = await export(tmp_path)
        assert result.resumed_from == 0
        assert ids_in(tmp_path / "out.jsonl") == list(range(1, 26))

    async def test_resume_with_nothing_saved_starts_afresh(self, tmp_path: Path) -> None:
        result = await export(tmp_path, resume=True)
        assert (result.contacts, result.resumed_from) == (25, 0)

    async def test_resume_with_other_options_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ExportFailedError):
            await export(tmp_path, stop_at=1)
        with pytest.raises(StateError, match="--api v2, not v1"):
            await export(tmp_path, resume=True, api="v1")

    async def test_resume_without_the_partial_file_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ExportFailedError):
            await export(tmp_path, stop_at=1)
        ExportPaths.for_output(tmp_path / "out.jsonl").part.unlink()
        with pytest.raises(StateError, match="without --resume"):
            await export(tmp_path, resume=True)

    async def test_resume_of_a_truncated_partial_file_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ExportFailedError):
            await export(tmp_path, stop_at=1)
        part = ExportPaths.for_output(tmp_path / "out.jsonl").part
        part.write_bytes(part.read_bytes()[:10])
        with pytest.raises(StateError, match="shorter"):
            await export(tmp_path, resume=True)


class TestLock:
    async def test_a_second_export_to_the_same_file_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ExportFailedError):
            await export(tmp_path, stop_at=1)
        part = ExportPaths.for_output(tmp_path / "out.jsonl").part
        before = part.read_bytes()
        busy = "another heymarket-async export is writing"
        with locked(part), pytest.raises(StateError, match=busy):
            await export(tmp_path)
        assert part.read_bytes() == before  # not truncated by the refused export
        result = await export(tmp_path, resume=True)
        assert result.resumed_from == 10

    async def test_the_lock_is_held_until_the_file_is_renamed(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Released before the rename, another export could take the partial file and cut it.
        part = ExportPaths.for_output(tmp_path / "out.jsonl").part
        real_replace = os.replace
        renames: list[bool] = []

        def replace(src: Any, dst: Any) -> None:
            if Path(src) == part:
                with open(part, "rb") as other:
                    try:
                        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        renames.append(True)
                    else:
                        renames.append(False)
            real_replace(src, dst)

        monkeypatch.setattr(os, "replace", replace)
        await export(tmp_path)
        assert renames == [True]
        assert ids_in(tmp_path / "out.jsonl") == list(range(1, 26))


def watching(paths: ExportPaths, seen: list[int]) -> type[ScriptedPages]:
    """ScriptedPages that append the saved state's contact count to ``seen`` after each page."""

    class Watching(ScriptedPages):
        async def pages(self) -> AsyncIterator[Sequence[Any]]:
            async for page in super().pages():
                yield page
                state = load_state(paths.state)
                assert state is not None
                seen.append(state.contacts)

    return Watching


class TestCheckpoints:
    async def test_state_is_saved_at_most_every_interval_and_on_stop(self, tmp_path: Path) -> None:
        # A frozen clock: after the header, no page is recorded until the walk stops.
        seen: list[int] = []
        paths = ExportPaths.for_output(tmp_path / "out.jsonl")

        watched = watching(paths, seen)

        def open_pages(client: Any, api: str, since: Any, position: Any, *, raw: bool) -> Any:
            return watched(position, raw=raw, stop_at=2)

        with pytest.raises(ExportFailedError):
            await run_export(
                StubClient(),  # type: ignore[arg-type]
                ExportOptions(output=str(paths.output)),
                open_pages=open_pages,
                progress=NullProgress(),
                stdout=io.BytesIO(),
                want_total=False,
                clock=lambda: 5.0,
            )
        assert seen == [0, 0]  # only the header's state: no page until the clock moves
        state = load_state(paths.state)
        assert state is not None
        assert state.contacts == 20  # saved on the way out

    async def test_a_ticking_clock_saves_every_page(self, tmp_path: Path) -> None:
        ticks = iter(range(1000))
        paths = ExportPaths.for_output(tmp_path / "out.jsonl")
        seen: list[int] = []

        watched = watching(paths, seen)
        await run_export(
            StubClient(),  # type: ignore[arg-type]
            ExportOptions(output=str(paths.output)),
            open_pages=lambda c, a, s, p, *, raw: watched(p, raw=raw),
            progress=NullProgress(),
            stdout=io.BytesIO(),
            want_total=False,
            clock=lambda: float(next(ticks)),
        )
        assert seen == [10, 20, 25]


class TestCancellation:
    async def test_cancel_mid_walk_leaves_a_resumable_state(self, tmp_path: Path) -> None:
        status = ExportStatus()
        hanging = asyncio.Event()
        task = asyncio.create_task(export(tmp_path, stop_at=2, hang=hanging, status=status))
        await hanging.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (status.contacts, status.resumable) == (20, True)
        result = await export(tmp_path, resume=True)
        assert result.resumed_from == 20
        assert ids_in(tmp_path / "out.jsonl") == list(range(1, 26))

    async def test_cancel_before_the_first_page_leaves_nothing(self, tmp_path: Path) -> None:
        # Ctrl-C while the first page is awaited: no contact saved, nothing to resume.
        hanging = asyncio.Event()
        status = ExportStatus()
        task = asyncio.create_task(export(tmp_path, stop_at=0, hang=hanging, status=status))
        await hanging.wait()
        assert listing(tmp_path) == ["out.jsonl.part", "out.jsonl.resume.json"]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (status.contacts, status.resumable) == (0, False)
        assert listing(tmp_path) == []

    async def test_cancel_of_a_resumed_export_keeps_what_was_saved(self, tmp_path: Path) -> None:
        with pytest.raises(ExportFailedError):
            await export(tmp_path, stop_at=1)
        hanging = asyncio.Event()
        status = ExportStatus()
        task = asyncio.create_task(
            export(tmp_path, resume=True, stop_at=0, hang=hanging, status=status)
        )
        await hanging.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (status.contacts, status.resumable) == (10, True)
        assert listing(tmp_path) == ["out.jsonl.part", "out.jsonl.resume.json"]


def file_id(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return (info.st_dev, info.st_ino, info.st_size)


class TestKilledWhileFinishing:
    """What a kill leaves at each step of the end, built on disk, and what --resume makes of it."""

    async def test_the_last_state_names_the_file_renamed_to_the_output(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        saved: list[Any] = []
        real_save = _export.save_state
        monkeypatch.setattr(
            _export, "save_state", lambda path, s: saved.append(s) or real_save(path, s)
        )
        part = ExportPaths.for_output(tmp_path / "out.jsonl").part
        before_rename: list[tuple[int, int, int]] = []
        real_replace = os.replace
        monkeypatch.setattr(
            os, "replace", lambda a, b: before_rename.append(file_id(part)) or real_replace(a, b)
        )
        await export(tmp_path)
        last = saved[-1]
        assert (last.contacts, last.position) == (25, {"index": 25})
        assert last.finished == before_rename[-1] == file_id(tmp_path / "out.jsonl")
        assert all(s.finished is None for s in saved[:-1])

    async def test_after_a_dedupe_copy_was_renamed_only_tidies_up(self, tmp_path: Path) -> None:
        # --dedupe renamed its copy over the output; the partial file it copied from and the
        # state are left.
        await export(tmp_path)
        out = tmp_path / "out.jsonl"
        paths = ExportPaths.for_output(out)
        complete = out.read_bytes()
        paths.part.write_bytes(complete + b'{"id": 3}\n')
        save_state(paths.state, finished_state(paths.part, file_id(out)))
        result = await export(tmp_path, resume=True)
        assert result.already_complete
        assert out.read_bytes() == complete
        assert listing(tmp_path) == ["out.jsonl"]

    async def test_before_the_rename_the_walk_ends_again(self, tmp_path: Path) -> None:
        # The last state is saved, the partial file not yet renamed over an older output of
        # the same size: the output is not the file the state names, so the resume goes on
        # from the end of the walk (no contact comes again) and renames.
        await export(tmp_path)
        out = tmp_path / "out.jsonl"
        paths = ExportPaths.for_output(out)
        complete = out.read_bytes()
        paths.part.write_bytes(complete)
        out.write_bytes(complete.replace(b'"n', b'"o'))
        save_state(paths.state, finished_state(paths.part, file_id(paths.part)))
        result = await export(tmp_path, resume=True)
        assert not result.already_complete
        assert (result.contacts, result.resumed_from) == (25, 25)
        assert out.read_bytes() == complete
        assert listing(tmp_path) == ["out.jsonl"]

    async def test_a_new_export_removes_the_old_state_before_cutting_the_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with pytest.raises(ExportFailedError):
            await export(tmp_path, stop_at=2)
        assert listing(tmp_path) == ["out.jsonl.part", "out.jsonl.resume.json"]
        seen: list[tuple[bool, int]] = []
        real_open_part = _export._open_part

        def open_part(paths: ExportPaths, saved: Any) -> Any:
            stream = real_open_part(paths, saved)
            seen.append((paths.state.exists(), paths.part.stat().st_size))
            return stream

        monkeypatch.setattr(_export, "_open_part", open_part)
        await export(tmp_path)
        assert seen == [(False, 0)]  # cut, and no state saying otherwise


def finished_state(part: Path, finished: tuple[int, int, int]) -> ExportState:
    return ExportState(
        format="jsonl",
        api="v2",
        source="http://127.0.0.1:1",
        since=None,
        bytes=part.stat().st_size,
        contacts=25,
        position={"index": 25},
        finished=finished,
    )


class DiskFullOnWrite:
    """The partial file, whose ``fail_on``-th write fails as on a full disk."""

    def __init__(self, stream: Any, fail_on: int) -> None:
        self._stream = stream
        self._writes = 0
        self._fail_on = fail_on

    def write(self, data: bytes) -> int:
        self._writes += 1
        if self._writes == self._fail_on:
            raise OSError(errno.ENOSPC, "No space left on device", "out.part")
        written: int = self._stream.write(data)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class ThresholdClient(StubClient):
    """Answers ``--dedupe``'s newest-updated read (``v2.list_contacts``) once ``release`` is
    set, or fails it with ``error``."""

    def __init__(self, release: asyncio.Event, error: Exception | None = None) -> None:
        super().__init__()
        self.v2 = self
        self.release = release
        self.error = error
        self.newest_reads = 0

    async def list_contacts(self, *, limit: int, ascending: bool) -> list[Contact]:
        assert (limit, ascending) == (1, False)
        self.newest_reads += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return [Contact(id=99, updated=datetime(2026, 1, 1, tzinfo=timezone.utc))]


class ReleasingPages(ScriptedPages):
    """Sets ``release`` as page ``after`` is handed out (``None``: once the walk ended)."""

    def __init__(self, start: Any, release: asyncio.Event, after: int | None, **kw: Any) -> None:
        super().__init__(start, **kw)
        self.release = release
        self.after = after

    async def pages(self) -> AsyncIterator[Sequence[Any]]:
        n = 0
        async for page in super().pages():
            n += 1
            if n == self.after:
                self.release.set()
            yield page
        self.release.set()


def scripted(client: Any, api: str, since: Any, position: Any, *, raw: bool) -> Any:
    """An ``open_pages`` of :class:`ScriptedPages`."""
    return ScriptedPages(position, raw=raw)


def releasing(release: asyncio.Event, after: int | None) -> Any:
    """An ``open_pages`` of :class:`ReleasingPages` that set ``release`` after page ``after``."""

    def open_pages(client: Any, api: str, since: Any, position: Any, *, raw: bool) -> Any:
        return ReleasingPages(position, release, after, raw=raw)

    return open_pages


class TestThresholdBesideTheWalk:
    """A new ``--dedupe`` export reads its threshold beside the walk's first pages, which it
    holds (nothing written, nothing saved) until the threshold comes."""

    async def run(
        self, tmp_path: Path, client: StubClient, open_pages: Any, *, resume: bool = False
    ) -> Any:
        return await run_export(
            client,  # type: ignore[arg-type]
            ExportOptions(
                output=str(tmp_path / "out.jsonl"),
                source="http://127.0.0.1:1",
                dedupe=True,
                resume=resume,
            ),
            open_pages=open_pages,
            progress=NullProgress(),
            stdout=io.BytesIO(),
            want_total=False,
            clock=lambda: 5.0,  # pages saved lazily
        )

    @pytest.mark.parametrize("held", [1, 2])
    async def test_a_write_failing_after_the_held_pages_resumes_after_the_last_written(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: int
    ) -> None:
        # Each held page is saved with the position just after it, not the walk's position
        # when it is written (already past the page that fails): a resume reads that page.
        release = asyncio.Event()
        client = ThresholdClient(release)
        real_open_part = _export._open_part
        monkeypatch.setattr(
            _export,
            "_open_part",
            lambda paths, saved: DiskFullOnWrite(real_open_part(paths, saved), held + 1),
        )

        open_pages = releasing(release, held)

        with pytest.raises(ExportFailedError) as info:
            await self.run(tmp_path, client, open_pages)
        assert isinstance(info.value.cause, OSError)
        paths = ExportPaths.for_output(tmp_path / "out.jsonl")
        state = load_state(paths.state)
        assert state is not None
        assert (state.contacts, state.position) == (10 * held, {"index": 10 * held})
        assert state.bytes == paths.part.stat().st_size
        # The newest less the read's time (none on this clock) and a second: see _threshold.
        assert state.newest is not None
        assert parse_timestamp(state.newest) == datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)

        monkeypatch.setattr(_export, "_open_part", real_open_part)
        result = await self.run(tmp_path, StubClient(), scripted, resume=True)
        assert result.contacts == 25
        assert ids_in(paths.output) == list(range(1, 26))
        assert client.newest_reads == 1

    async def test_each_state_saved_resumes_every_page_after_it(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Every state the export saves, as a kill just after it would leave it, resumes to
        # every contact once: the first one (the header, saved when the threshold comes, after
        # two pages were held) holds the walk's start, not the position past the held pages.
        saved: list[ExportState] = []
        real_save = _export.save_state

        def keep(path: Path, state: ExportState) -> None:
            saved.append(state)
            real_save(path, state)

        monkeypatch.setattr(_export, "save_state", keep)
        monkeypatch.setattr(_export, "SAVE_INTERVAL", 0.0)  # a state after every page
        release = asyncio.Event()

        open_pages = releasing(release, 2)

        await self.run(tmp_path, ThresholdClient(release), open_pages)
        monkeypatch.setattr(_export, "save_state", real_save)
        assert [s.contacts for s in saved][:4] == [0, 10, 20, 25]
        complete = (tmp_path / "out.jsonl").read_bytes()
        paths = ExportPaths.for_output(tmp_path / "out.jsonl")
        for state in saved:
            if state.finished is not None:
                continue
            for name in listing(tmp_path):
                (tmp_path / name).unlink()
            paths.part.write_bytes(complete)  # a kill leaves what was written; the resume cuts
            save_state(paths.state, state)
            result = await self.run(tmp_path, StubClient(), scripted, resume=True)
            assert (result.resumed_from, result.contacts) == (state.contacts, 25)
            assert ids_in(paths.output) == list(range(1, 26)), state

    async def test_a_walk_that_ends_first_waits_for_the_threshold(self, tmp_path: Path) -> None:
        release = asyncio.Event()
        client = ThresholdClient(release)

        open_pages = releasing(release, None)

        result = await self.run(tmp_path, client, open_pages)
        assert (result.contacts, result.tracked) == (25, 0)
        assert ids_in(tmp_path / "out.jsonl") == list(range(1, 26))
        assert listing(tmp_path) == ["out.jsonl"]

    async def test_a_walk_that_cannot_open_leaves_no_read_running(self, tmp_path: Path) -> None:
        client = ThresholdClient(asyncio.Event())

        def open_pages(client: Any, api: str, since: Any, position: Any, *, raw: bool) -> Any:
            raise InvalidRequestError("resume", "refused")

        with pytest.raises(InvalidRequestError):
            await self.run(tmp_path, client, open_pages)
        await asyncio.sleep(0)
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
        assert client.newest_reads == 0

    async def test_a_failed_threshold_read_leaves_nothing(self, tmp_path: Path) -> None:
        release = asyncio.Event()
        client = ThresholdClient(release, APIConnectionError("reset", method="POST", url="x"))

        open_pages = releasing(release, 2)

        with pytest.raises(ExportFailedError) as info:
            await self.run(tmp_path, client, open_pages)
        assert isinstance(info.value.cause, APIConnectionError)
        assert (info.value.contacts, info.value.resumable) == (0, False)
        assert listing(tmp_path) == []


class TestResumeNeverSkips:
    """A saved state is a file length and the position after the same page, never a later one."""

    @pytest.mark.parametrize("fail_on", [1, 2, 3])
    async def test_a_failed_write_is_written_again_on_resume(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_on: int
    ) -> None:
        # Pages saved lazily (a frozen clock): the page whose write fails is not in the state.
        real_open_part = _export._open_part
        monkeypatch.setattr(
            _export,
            "_open_part",
            lambda paths, saved: DiskFullOnWrite(real_open_part(paths, saved), fail_on),
        )
        paths = ExportPaths.for_output(tmp_path / "out.jsonl")

        def open_pages(client: Any, api: str, since: Any, position: Any, *, raw: bool) -> Any:
            return ScriptedPages(position, raw=raw)

        with pytest.raises(ExportFailedError) as info:
            await run_export(
                StubClient(),  # type: ignore[arg-type]
                ExportOptions(output=str(paths.output), source="http://127.0.0.1:1"),
                open_pages=open_pages,
                progress=NullProgress(),
                stdout=io.BytesIO(),
                want_total=False,
                clock=lambda: 5.0,
            )
        assert isinstance(info.value.cause, OSError)
        state = load_state(paths.state)
        if fail_on == 1:
            # Nothing was saved: nothing is left to resume, and no file is left behind.
            assert (state, info.value.resumable) == (None, False)
            assert listing(tmp_path) == []
        else:
            assert state is not None
            assert (state.contacts, state.position) == (
                10 * (fail_on - 1),
                {"index": state.contacts},
            )
            assert state.bytes == paths.part.stat().st_size

        monkeypatch.setattr(_export, "_open_part", real_open_part)  # space freed
        result = await export(tmp_path, resume=True)
        assert result.contacts == 25
        assert ids_in(paths.output) == list(range(1, 26))

    def test_disk_full_then_resume_keeps_every_contact(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = tmp_path / "contacts.jsonl"
        monkeypatch.setattr(_export, "SAVE_INTERVAL", 60.0)  # a fast walk: pages saved lazily
        real_open_part = _export._open_part
        monkeypatch.setattr(
            _export,
            "_open_part",
            lambda paths, saved: DiskFullOnWrite(real_open_part(paths, saved), 2),
        )
        assert run(["export", "--sandbox", "300", "-o", str(out), "-q"], capsys)[0] == 1

        monkeypatch.setattr(_export, "_open_part", real_open_part)
        code, _, err = run(["export", "--sandbox", "300", "-o", str(out), "-q", "--resume"], capsys)
        assert code == 0, err
        assert sorted(ids_in(out)) == list(range(1, 301))

    async def test_an_unreadable_contact_is_read_again_on_resume(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The typed pager (--normalized) passes a contact it cannot read when it raises for it:
        # the state saved on the way out must still be the one before it, so a resume once it
        # is fixed gets it. (A raw export reads it as sent: see TestRawAndNormalized.)
        monkeypatch.setattr(_export, "SAVE_INTERVAL", 60.0)
        out = tmp_path / "c.jsonl"
        async with FakeHeymarket(api_key="test") as fake:
            fake.seed(300, seed=0)
            cid = sorted(fake.contacts)[149]
            when = parse_timestamp(fake.contacts[cid]["updated"])
            good = fake.contacts[cid]["custom"]
            fake.update_contact(cid, updated=when, custom="not an object")
            async with fake.client() as client:

                async def go(resume: bool) -> Any:
                    return await run_export(
                        client,
                        ExportOptions(output=str(out), resume=resume, source="x", normalized=True),
                        open_pages=open_pages,
                        progress=NullProgress(),
                        stdout=io.BytesIO(),
                        want_total=False,
                    )

                with pytest.raises(ExportFailedError) as info:
                    await go(False)
                assert isinstance(info.value.cause, InvalidResponseError)
                fake.update_contact(cid, updated=when, custom=good)
                result = await go(True)
        ids = ids_in(out)
        assert len(ids) == len(set(ids))
        assert sorted(ids) == sorted(fake.contacts)
        assert result.contacts == 300


class TestRawAndNormalized:
    async def test_jsonl_holds_each_contact_as_sent(self, tmp_path: Path) -> None:
        await export(tmp_path)
        lines = (tmp_path / "out.jsonl").read_bytes().splitlines()
        assert lines == [json.dumps(c, separators=(",", ":")).encode() for c in SENT]

    async def test_normalized_holds_the_sdks_records(self, tmp_path: Path) -> None:
        await export(tmp_path, normalized=True)
        lines = (tmp_path / "out.jsonl").read_text().splitlines()
        assert lines == [contact_line(c) for c in CONTACTS]

    async def test_a_contact_the_sdk_cannot_read_is_exported_as_sent(self, tmp_path: Path) -> None:
        out = tmp_path / "c.jsonl"
        async with FakeHeymarket(api_key="test") as fake:
            fake.seed(300, seed=0)
            cid = sorted(fake.contacts)[149]
            when = parse_timestamp(fake.contacts[cid]["updated"])
            fake.update_contact(cid, updated=when, custom="not an object")
            async with fake.client() as client:
                result = await run_export(
                    client,
                    ExportOptions(output=str(out), source="x"),
                    open_pages=open_pages,
                    progress=NullProgress(),
                    stdout=io.BytesIO(),
                    want_total=False,
                )
            sent = {c: fake.contacts[c] for c in fake.contacts}
        records = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
        assert result.contacts == 300
        assert records == sent
        assert records[cid]["custom"] == "not an object"

    @pytest.mark.parametrize(
        ("fmt", "first", "again", "message"),
        [
            ("jsonl", {}, {"normalized": True}, "an export without --normalized"),
            ("jsonl", {"normalized": True}, {}, "an export with --normalized"),
            ("csv", {}, {"formula_guard": False}, "an export without --no-formula-guard"),
            ("csv", {"formula_guard": False}, {}, "an export with --no-formula-guard"),
        ],
    )
    async def test_resume_must_keep_how_lines_are_written(
        self, tmp_path: Path, fmt: str, first: Any, again: Any, message: str
    ) -> None:
        with pytest.raises(ExportFailedError):
            await export(tmp_path, fmt=fmt, stop_at=1, **first)
        with pytest.raises(StateError, match=message):
            await export(tmp_path, fmt=fmt, resume=True, **again)
        result = await export(tmp_path, fmt=fmt, resume=True, **first)
        assert (result.contacts, result.resumed_from) == (25, 10)

    @pytest.mark.parametrize("fmt", ["jsonl", "csv"])
    async def test_a_state_from_before_reads_as_what_that_version_wrote(
        self, tmp_path: Path, fmt: str
    ) -> None:
        # Normalized JSONL, CSV without the guard: the keys did not exist.
        old = {"normalized": True} if fmt == "jsonl" else {"formula_guard": False}
        with pytest.raises(ExportFailedError):
            await export(tmp_path, fmt=fmt, stop_at=1, **old)
        state = ExportPaths.for_output(tmp_path / f"out.{fmt}").state
        data = json.loads(state.read_text())
        del data["normalized"], data["formula_guard"]
        state.write_text(json.dumps(data))
        with pytest.raises(StateError, match="with --"):
            await export(tmp_path, fmt=fmt, resume=True)
        assert (await export(tmp_path, fmt=fmt, resume=True, **old)).resumed_from == 10


class TestCsvReport:
    async def test_what_had_no_column_is_counted(self, tmp_path: Path) -> None:
        class Extra(ScriptedPages):
            async def pages(self) -> AsyncIterator[Sequence[Any]]:
                async for page in super().pages():
                    yield [{**c, "loyalty_tier": "gold", "custom": {"8": "x"}} for c in page]

        result = await run_export(
            StubClient(),  # type: ignore[arg-type]
            ExportOptions(output=str(tmp_path / "o.csv"), format="csv"),
            open_pages=lambda c, a, s, p, *, raw: Extra(p, raw=raw),
            progress=NullProgress(),
            stdout=io.BytesIO(),
            want_total=False,
        )
        assert result.unplaced == (("custom field 8", 25), ("loyalty_tier", 25))

    async def test_the_guard_is_on_unless_turned_off(self, tmp_path: Path) -> None:
        class Formulas(ScriptedPages):
            async def pages(self) -> AsyncIterator[Sequence[Any]]:
                async for page in super().pages():
                    yield [{**c, "first": "=HYPERLINK(1)"} for c in page]

        for guard, cell in [(True, "'=HYPERLINK(1)"), (False, "=HYPERLINK(1)")]:
            out = tmp_path / f"{guard}.csv"
            await run_export(
                StubClient(),  # type: ignore[arg-type]
                ExportOptions(output=str(out), format="csv", formula_guard=guard),
                open_pages=lambda c, a, s, p, *, raw: Formulas(p, raw=raw),
                progress=NullProgress(),
                stdout=io.BytesIO(),
                want_total=False,
            )
            rows = list(csv.DictReader(io.StringIO(out.read_text(), newline="")))
            assert {r["first"] for r in rows} == {cell}
