"""``heymarket-async export``: stream every contact into a file, page by page, resumably.

The walk itself is the SDK's pager, reading the API's objects as sent (``raw`` pages), which
the JSONL keeps as they are and the CSV flattens; ``--normalized`` walks typed contacts and
writes the SDK's records (see ``_output``). This module owns the file side: the partial file,
a flush after every page, the resume state saved after flushed pages (see ``_Checkpoints``),
the atomic rename at the end (see ``_state``), the older versions dropped before it
(``--dedupe``, see ``_dedupe``) and the mark an incremental export starts from and leaves
(``--since-last``, see ``_mark``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, NoReturn, Protocol, runtime_checkable

import attrs

from heymarket_async import HeymarketClient
from heymarket_async._sansio import format_timestamp, parse_timestamp
from heymarket_async.errors import HeymarketError

from ._dedupe import CorruptLineError, LatestVersions, drop_older_versions, scan_lines
from ._mark import load_mark, save_mark
from ._output import ContactEncoder, CsvEncoder, JsonlEncoder, RawJsonlEncoder, csv_columns
from ._progress import Progress
from ._state import ExportPaths, ExportState, StateError, load_state, save_state

#: Seconds between two saves of the resume state during a walk (see ``_Checkpoints``).
SAVE_INTERVAL = 0.5

#: Pages a new ``--dedupe`` export holds while its threshold is read beside them (see
#: ``_threshold``): the walk waits for it beyond these.
_HELD_PAGES = 32
#: Less than the team's newest ``updated`` by the time its read took and this much: see
#: ``_threshold``.
_THRESHOLD_SLACK = timedelta(seconds=1)

#: POSIX renames an open file, so the finished partial file is renamed before it is closed (and
#: its lock released); Windows refuses to, and has no lock to keep.
_RENAME_OPEN = os.name == "posix"

__all__ = [
    "ExportFailedError",
    "ExportOptions",
    "ExportResult",
    "ExportStatus",
    "PageSource",
    "position_data",
    "run_export",
]


class PageSource(Protocol):
    """A walk over the contacts, a page at a time, that can say where to resume it."""

    def pages(self) -> AsyncIterator[Sequence[Any]]:
        """Pages of the API's contact objects as sent (``raw``), or of typed ``Contact``."""

    def position(self) -> Any:
        """What resumes the walk just after the last page yielded: JSON-ready data, or an
        immutable value whose ``to_dict()`` gives it (see :func:`position_data`)."""

    async def aclose(self) -> None: ...


@runtime_checkable
class KeepsTexts(Protocol):
    """A page source that can give pages of :class:`ItemTexts` (the contacts' own JSON)."""

    def keep_texts(self) -> None: ...


class OpenPages(Protocol):
    """Opens a walk from a saved position (or ``None``): ``raw`` pages of the API's dicts, or
    typed contacts."""

    def __call__(
        self,
        client: HeymarketClient,
        api: str,
        since: datetime | None,
        position: Any,
        *,
        raw: bool,
    ) -> PageSource: ...


@attrs.frozen(kw_only=True)
class ExportOptions:
    """What the command line asked for. ``output`` is a path, or ``"-"`` for stdout."""

    output: str
    format: str = "jsonl"
    api: str = "v2"
    since: datetime | None = None
    resume: bool = False
    #: Where the contacts come from (the base URL, or ``sandbox:N``): a resume must match it.
    source: str = ""
    #: One line per contact, its newest version (see ``_dedupe``). ``None``: as the resumed
    #: export did, else on for a v2 export to a file. Never for stdout.
    dedupe: bool | None = False
    #: ``--since-last``: the mark an incremental export starts from (when it exists) and
    #: replaces once the output is complete.
    mark: Path | None = None
    #: JSONL: the SDK's typed records (``--normalized``) instead of the API's objects as sent.
    normalized: bool = False
    #: CSV: a text cell that a spreadsheet would run as a formula gets a ``'`` in front.
    formula_guard: bool = True


@attrs.frozen(kw_only=True)
class ExportResult:
    contacts: int
    resumed_from: int
    seconds: float
    #: CSV: what had no column, ``(key, contacts that had it)``, most frequent first: keys the
    #: CSV has no place for, and custom fields not in ``list_contact_fields`` ("custom field
    #: 99"). Counted over this run's contacts (a resumed export's earlier ones are not read).
    unplaced: tuple[tuple[str, int], ...] = ()
    #: Lines dropped as older versions of a contact (``--dedupe``).
    dropped: int = 0
    #: Contacts that ``--dedupe`` remembered (those at or after its threshold, a time at or
    #: before the walk's first read), ``None`` without ``--dedupe``.
    tracked: int | None = None
    #: Whether the walk started from a ``--since-last`` mark (only what changed since).
    incremental: bool = False
    #: A ``--resume`` found the output complete (an earlier run was stopped after renaming it,
    #: before removing its state) and only tidied up.
    already_complete: bool = False


class ExportFailedError(Exception):
    """The export stopped on ``cause``; ``contacts`` are safely written and resumable."""

    def __init__(self, cause: BaseException, contacts: int, resumable: bool) -> None:
        self.cause = cause
        self.contacts = contacts
        self.resumable = resumable
        super().__init__(str(cause))


@attrs.define
class ExportStatus:
    """How far the export got, readable after it stopped for any reason (even cancellation)."""

    contacts: int = 0
    #: True once a state file exists that ``--resume`` can continue from.
    resumable: bool = False
    #: True once every contact is in the output (renamed into place): nothing left to resume.
    finished: bool = False


async def run_export(
    client: HeymarketClient,
    options: ExportOptions,
    *,
    open_pages: OpenPages,
    progress: Progress,
    stdout: IO[bytes],
    want_total: bool,
    status: ExportStatus | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ExportResult:
    """Run one export; raises ``StateError`` for a resume that cannot be done, and
    ``ExportFailedError`` (wrapping the cause) when the walk or a write fails or is cancelled
    after it started. Cancellation is re-raised as it is, after the state is left behind.
    A walk stopped (by an error or a cancellation) before any contact was saved leaves no
    partial file and no state. A resume whose state says the output is already complete (see
    ``ExportState.finished``) only tidies up.
    """
    # One function from here to the rename: the try/finally below must see every resource the
    # walk holds (the file, the pager, the count task, the unsaved checkpoint) to release it.
    since = None if options.since is None else format_timestamp(options.since)
    to_stdout = options.output == "-"
    paths = None if to_stdout else ExportPaths.for_output(options.output)
    saved = _resumable_state(paths, options, since) if paths is not None else None
    if saved is not None and saved.finished is not None:
        assert paths is not None
        if _in_place(paths.output, saved.finished):
            return _tidy_up(paths, options, saved, status)
        # Stopped before the rename: the walk goes on from its end, as any resume.
        saved = attrs.evolve(saved, finished=None)
    dedupe = _dedupe_choice(options, saved, paths)
    # A crash state goes on from its own position, which a mark (if any) started.
    mark = load_mark(options.mark, options.source) if options.mark and saved is None else None
    # A new --dedupe export reads its threshold beside the walk's first pages, which wait for it
    # (a round trip less before the first page; see _threshold).
    later = dedupe and saved is None
    encoder, base = await _encoder_and_state(client, options, since, saved, dedupe)
    versions = None
    if base.dedupe and not later:
        versions = _versions(base.newest)
    # The count is of every contact: no total for a walk of what changed since a mark.
    want_total = want_total and mark is None
    status = ExportStatus() if status is None else status
    done = status.contacts = base.contacts
    status.resumable = saved is not None
    size = base.bytes
    started = clock()
    raw = not base.normalized
    # Opened first: a saved position the pager refuses leaves the partial file untouched.
    pager = open_pages(
        client, options.api, options.since, saved.position if saved else mark, raw=raw
    )
    raw_texts = isinstance(encoder, RawJsonlEncoder) and encoder.wants_texts
    if raw_texts and isinstance(pager, KeepsTexts):
        pager.keep_texts()  # each contact's own text, written as it is: no encoding
    # Where the walk starts: what a state saved before its first page is written resumes from.
    start = pager.position()
    checkpoints = None
    if paths is not None and not later:
        checkpoints = _Checkpoints(paths.state, base, clock)
    stream: IO[bytes] | None = None
    walked = False
    final_position = None
    failure: HeymarketError | OSError | None = None
    cancelled = False
    progress.start(done)
    # Pages read before the threshold came, each with the position just after it.
    held: list[tuple[Sequence[Any], Any]] = []

    def write(page: Sequence[Any], position: Any) -> None:
        nonlocal size, done
        assert stream is not None
        data = encoder.encode(page)
        stream.write(data)
        stream.flush()
        size += len(data)
        done += len(page)
        if versions is not None:
            if raw:
                versions.add_raw_page(page)
            else:
                versions.add_page(page)
        status.contacts = done
        if checkpoints is not None:
            checkpoints.record(size, done, position)
        progress.advance(len(page))

    def begin(newest: str | None) -> None:
        """The threshold came: the header and the first state, then the pages held for it.
        Nothing is written (nor saved) before, so that a resumed export has the threshold."""
        nonlocal base, versions, checkpoints, size
        assert stream is not None
        base = attrs.evolve(base, newest=newest)
        versions = _versions(newest)
        if paths is not None:
            checkpoints = _Checkpoints(paths.state, base, clock)
        size += _write_header(stream, encoder, checkpoints, status, start)
        for page, position in held:
            write(page, position)
        held.clear()

    # Nothing from here to the walk's first request can fail: these tasks end in its finally.
    total_task = _count_for_the_bar(client, since, progress) if want_total else None
    threshold = None
    if later:
        # Timed from before the walk's first request.
        threshold = asyncio.ensure_future(_threshold(client, clock, clock()))
        threshold.add_done_callback(_retrieve)
    try:
        stream = stdout if paths is None else _open_part(paths, saved)
        if threshold is None:
            if saved is None:
                size += _write_header(stream, encoder, checkpoints, status, start)
            elif versions is not None:
                assert paths is not None
                _rescan(paths, saved, versions)
        async for page in pager.pages():
            position = pager.position()  # just after this page, before anything awaits
            if threshold is not None:
                if not threshold.done() and len(held) < _HELD_PAGES:
                    held.append((page, position))
                    continue
                begin(await threshold)
                threshold = None
            write(page, position)
        if threshold is not None:
            begin(await threshold)  # the walk ended before the threshold came
            threshold = None
        if paths is not None:
            os.fsync(stream.fileno())
        final_position = position_data(pager.position())
        walked = True
    except (HeymarketError, OSError) as exc:
        failure = exc
    except (asyncio.CancelledError, KeyboardInterrupt):
        cancelled = True
        raise
    finally:
        # Whatever stopped the walk (an error, Ctrl-C), the last flushed page is what resumes.
        if total_task is not None and not total_task.done():
            total_task.cancel()
        if threshold is not None:
            threshold.cancel()
        if checkpoints is not None:
            checkpoints.save_pending()
        await pager.aclose()
        # Nothing to resume (a rejected key, an unreachable host, Ctrl-C at once): no files
        # left behind, no --resume suggested.
        nothing_saved = (failure is not None or cancelled) and done == 0
        if nothing_saved and paths is not None and stream is not None and _discard(paths, stream):
            status.resumable = False
        if paths is not None and stream is not None and not (walked and _RENAME_OPEN):
            # After a failure, closing may flush a write that failed again: the state on disk
            # already resumes from before it, and the error that stopped the walk is the one to
            # report.
            with contextlib.suppress(OSError):
                stream.close()
        progress.close()
    if failure is not None:
        raise ExportFailedError(failure, done, resumable=status.resumable) from failure
    dropped = 0
    if paths is not None:
        assert stream is not None
        final = attrs.evolve(base, bytes=size, contacts=done, position=final_position)
        dropped = _put_in_place(paths, stream, options.format, versions, final, options)
    elif options.mark is not None:
        _save_mark(options, final_position, done, resumable=False)
    status.finished = True
    unplaced: tuple[tuple[str, int], ...] = ()
    if isinstance(encoder, CsvEncoder):
        unplaced = tuple(sorted(encoder.unplaced.items(), key=lambda kv: (-kv[1], kv[0])))
    return ExportResult(
        contacts=done,
        resumed_from=base.contacts,
        seconds=clock() - started,
        unplaced=unplaced,
        dropped=dropped,
        tracked=None if versions is None else len(versions),
        incremental=mark is not None,
    )


def _dedupe_choice(
    options: ExportOptions, saved: ExportState | None, paths: ExportPaths | None
) -> bool:
    """Whether this export keeps one line per contact; ``StateError`` if a resume disagrees."""
    if paths is None:
        return False  # stdout cannot be rewritten (the command refuses --dedupe with -o -)
    if saved is not None:
        if options.dedupe is not None and options.dedupe != saved.dedupe:
            was = "with" if saved.dedupe else "without"
            raise StateError(
                f"{paths.state} is for an export {was} --dedupe: run with the same options, "
                "or without --resume to start over"
            )
        return saved.dedupe
    return options.api == "v2" if options.dedupe is None else options.dedupe


async def _threshold(
    client: HeymarketClient, clock: Callable[[], float], started: float
) -> str | None:
    """``--dedupe``'s threshold: a time at or before the server's clock when the walk's first
    read was served, so that every version a change during the walk makes is at or after it
    (``None`` for an empty team: every line is then remembered, right if not small).

    Read beside the walk, not before it: the team's newest ``updated`` is at most the server's
    time when this read was served, which is at most ``clock() - started`` after the walk's
    first read was (``started`` was taken before the walk could send, the answer is in hand
    now). So the newest less that time is at or before the walk's first read, and a second
    more covers times written to the millisecond and clocks that drift.
    """
    newest = await client.v2.list_contacts(limit=1, ascending=False)
    took = clock() - started
    if not newest or newest[0].updated is None:
        return None
    return format_timestamp(newest[0].updated - timedelta(seconds=took) - _THRESHOLD_SLACK)


def _versions(newest: str | None) -> LatestVersions:
    """``--dedupe``'s memory, for the threshold a state holds (see ``_threshold``)."""
    return LatestVersions(None if newest is None else parse_timestamp(newest))


def _rescan(paths: ExportPaths, saved: ExportState, versions: LatestVersions) -> None:
    """Remember again the lines of the resumed partial file that may be older versions."""
    with open(paths.part, "rb") as part:
        try:
            scan_lines(part, saved.format, versions)
        except CorruptLineError as exc:
            raise StateError(f"{paths.part}: {exc}: run without --resume to start over") from None
    if versions.lines != saved.contacts:
        raise StateError(
            f"{paths.part} holds {versions.lines:,} contacts, not the {saved.contacts:,} "
            f"{paths.state} records: run without --resume to start over"
        )


async def _encoder_and_state(
    client: HeymarketClient,
    options: ExportOptions,
    since: str | None,
    saved: ExportState | None,
    dedupe: bool,
) -> tuple[ContactEncoder, ExportState]:
    """The encoder for ``options.format``, and the state the export starts from: ``saved``, or
    a new one at 0 bytes. A new CSV export asks for the custom fields, its columns."""
    if saved is not None:
        columns, field_ids = saved.columns, saved.field_ids
    elif options.format == "csv":
        fields = await client.list_contact_fields()
        columns = tuple(csv_columns(fields, guard=options.formula_guard))
        field_ids = tuple(str(f.id) for f in fields)
    else:
        columns, field_ids = (), ()
    # What the lines already written were, on a resume (which _resumable_state has checked).
    normalized = options.format == "jsonl" and options.normalized
    guard = options.formula_guard if saved is None else saved.formula_guard
    encoder: ContactEncoder
    if options.format == "csv":
        encoder = CsvEncoder(field_ids, columns, formula_guard=guard)
    else:
        encoder = JsonlEncoder() if normalized else RawJsonlEncoder()
    base = saved or ExportState(
        format=options.format,
        api=options.api,
        source=options.source,
        since=since,
        bytes=0,
        contacts=0,
        position=None,
        columns=columns,
        field_ids=field_ids,
        dedupe=dedupe,
        newest=None,  # a new --dedupe export's comes beside the walk (see _threshold)
        normalized=normalized,
        formula_guard=guard,
    )
    return encoder, base


def _count_for_the_bar(
    client: HeymarketClient, since: str | None, progress: Progress
) -> asyncio.Task[int]:
    """The count of contacts, asked for beside the walk: it only gives the bar its total."""
    task = asyncio.create_task(client.count_contacts(since=since))
    task.add_done_callback(lambda t: _report_total(t, progress))
    return task


def _write_header(
    stream: IO[bytes],
    encoder: ContactEncoder,
    checkpoints: _Checkpoints | None,
    status: ExportStatus,
    start: Any,
) -> int:
    """Start a new file with the encoder's header (CSV's column names); its length in bytes.

    The state is saved at once, with ``start`` (the walk's position before its first page), so
    that an export stopped before its first page resumes.
    """
    head = encoder.header()
    if head:
        stream.write(head)
    if checkpoints is not None:
        stream.flush()
        checkpoints.record(len(head), 0, start, force=True)
        status.resumable = True
    return len(head)


def _put_in_place(
    paths: ExportPaths,
    stream: IO[bytes],
    fmt: str,
    versions: LatestVersions | None,
    final: ExportState,
    options: ExportOptions,
) -> int:
    """Rename the finished partial file to the output, save the ``--since-last`` mark, drop the
    state, close the file; with ``versions``, the output is the partial file without older
    versions. Returns how many lines were dropped.

    ``final`` (the state after the last page) is saved first, naming the file about to become
    the output: a kill after the rename leaves a state that says the output is complete, and
    ``--resume`` then saves the mark (the state goes after the mark, so that no kill leaves a
    complete output, no state, and the old mark).
    """
    try:
        # Renamed while the lock is held: another export cannot take the partial file
        # (and cut it) between the last write and the rename.
        dropped = 0
        complete = paths.part
        if versions is not None:
            # A copy beside the output, renamed over it: a crash leaves the partial file and
            # its state, which --resume finishes.
            tmp = paths.output.with_name(paths.output.name + ".tmp")
            dropped = drop_older_versions(paths.part, tmp, fmt, versions)
            if dropped:
                complete = tmp
        info = os.stat(complete)
        save_state(paths.state, attrs.evolve(final, finished=_file_id(info)))
        os.replace(complete, paths.output)
        if dropped:
            paths.part.unlink()
        if options.mark is not None:
            # Only now that the output is complete: a run that fails before leaves the old mark.
            # A failure leaves the state: --resume saves the mark.
            _save_mark(options, final.position, final.contacts, resumable=True)
        with contextlib.suppress(FileNotFoundError):
            paths.state.unlink()
    finally:
        stream.close()
    return dropped


def _save_mark(options: ExportOptions, position: Any, contacts: int, *, resumable: bool) -> None:
    assert options.mark is not None
    try:
        save_mark(options.mark, position, options.source)
    except OSError as exc:
        raise ExportFailedError(exc, contacts, resumable=resumable) from exc


def _file_id(info: os.stat_result) -> tuple[int, int, int]:
    return (info.st_dev, info.st_ino, info.st_size)


def _in_place(output: Path, finished: tuple[int, int, int]) -> bool:
    """Whether ``output`` is the file a finished export's last state names (renamed, unchanged)."""
    try:
        return _file_id(output.stat()) == finished
    except FileNotFoundError:
        return False


def _tidy_up(
    paths: ExportPaths, options: ExportOptions, saved: ExportState, status: ExportStatus | None
) -> ExportResult:
    """Finish an export whose output is complete (a kill stopped it after the rename): remove
    the partial file ``--dedupe`` copied from, save the ``--since-last`` mark, remove the state.

    The state goes last: a kill before leaves it, and the next ``--resume`` tidies up again.
    """
    with contextlib.suppress(FileNotFoundError):
        paths.part.unlink()
    if options.mark is not None:
        _save_mark(options, saved.position, saved.contacts, resumable=True)
    with contextlib.suppress(FileNotFoundError):
        paths.state.unlink()
    if status is not None:
        status.contacts = saved.contacts
        status.finished = True
    return ExportResult(
        contacts=saved.contacts, resumed_from=saved.contacts, seconds=0.0, already_complete=True
    )


def _discard(paths: ExportPaths, stream: IO[bytes]) -> bool:
    """Remove the state and the partial file of an export that saved no contact; whether the
    state is gone (then nothing is left to resume).

    The state first: a kill between leaves a partial file without one, which the next export
    cuts or replaces.
    """
    if not _RENAME_OPEN:  # pragma: no cover - Windows removes no open file
        stream.close()
    try:
        paths.state.unlink(missing_ok=True)
    except OSError:
        return False
    with contextlib.suppress(OSError):
        paths.part.unlink(missing_ok=True)
    return True


class _Checkpoints:
    """Saves the resume state after flushed pages: at most every ``SAVE_INTERVAL`` seconds.

    Replacing a file costs about a millisecond on common file systems (ext4 flushes the new
    file's data on a rename over an old one), as much as encoding a page: saving after every
    page of a fast walk would cut its throughput by a fifth. A walk that stops in any way
    Python sees (an error, Ctrl-C, SIGTERM) saves its last page on the way out; only a kill or
    a crash loses up to ``SAVE_INTERVAL`` seconds of pages, which the resume fetches again.
    """

    def __init__(self, path: Path, base: ExportState, clock: Callable[[], float]) -> None:
        self._path = path
        self._base = base
        self._clock = clock
        # The last page recorded and not saved: (bytes, contacts, the pager's position).
        self._pending: tuple[int, int, Any] | None = None
        self._saved_at = -SAVE_INTERVAL

    def record(self, size: int, done: int, position: Any, *, force: bool = False) -> None:
        """The file now holds ``size`` bytes, ``done`` contacts, up to the page that
        ``position`` (the pager's position just after it) belongs to.

        The position is read as its page is handed out, and recorded with the length it
        belongs to: read later (when the state is saved on the way out, or when pages held for
        the ``--dedupe`` threshold are written), it could already be past a page whose write
        failed, or past a contact the pager could not read, and a resume would skip them. It is
        kept as the pager's (immutable) value, and the state built only when saved: a sliced
        walk's position costs as much to turn into JSON as its page to encode.
        """
        pending = (size, done, position)
        now = self._clock()
        if force or now - self._saved_at >= SAVE_INTERVAL:
            self._save(pending)
            self._saved_at = now
        else:
            self._pending = pending

    def save_pending(self) -> None:
        """Save the last page recorded, if it is not saved yet."""
        if self._pending is not None:
            self._save(self._pending)

    def _save(self, pending: tuple[int, int, Any]) -> None:
        size, done, position = pending
        state = attrs.evolve(
            self._base, bytes=size, contacts=done, position=position_data(position)
        )
        save_state(self._path, state)
        self._pending = None


def position_data(position: Any) -> Any:
    """A ``PageSource`` position as JSON-ready data (a pager's position has ``to_dict()``)."""
    to_dict = getattr(position, "to_dict", None)
    return position if to_dict is None else to_dict()


def _open_part(paths: ExportPaths, saved: ExportState | None) -> IO[bytes]:
    """The partial file, locked against a second export, cut to where the state says.

    Plain blocking file calls, here and per page: a local write of a page takes far less than
    the request that fetched it, and the export has the event loop to itself.
    """
    # Opened without truncating: a file that another export is writing must stay as it is.
    fd = os.open(paths.part, os.O_RDWR | os.O_CREAT, 0o666)
    stream = os.fdopen(fd, "r+b")
    try:
        _lock(stream, paths)
        # Drop whatever a killed run wrote after its last saved state: those contacts come
        # again. A fresh export starts from nothing, and removes an earlier export's state
        # before it cuts that export's file: a kill in between must not leave a state that
        # says more than the file holds (a --resume then starts afresh).
        keep = saved.bytes if saved is not None else 0
        if saved is None:
            paths.state.unlink(missing_ok=True)
        stream.truncate(keep)
        stream.seek(keep)
    except BaseException:
        stream.close()
        raise
    return stream


def _lock(stream: IO[bytes], paths: ExportPaths) -> None:
    """An advisory lock held while the file is open; the OS drops it if the process dies."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        return
    try:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise StateError(
            f"another heymarket-async export is writing {paths.part}: wait for it or stop it"
        ) from None


def _retrieve(task: asyncio.Future[Any]) -> None:
    # The walk's own error is the one reported: one of the threshold's read is not logged.
    if not task.cancelled():
        task.exception()


def _report_total(task: asyncio.Task[int], progress: Progress) -> None:
    # The total only feeds the bar: a failed count leaves the bar without one.
    if not task.cancelled() and task.exception() is None:
        progress.set_total(task.result())


def _resumable_state(
    paths: ExportPaths, options: ExportOptions, since: str | None
) -> ExportState | None:
    """The state to continue from, or ``None`` to start afresh; ``StateError`` if it conflicts."""
    if not options.resume:
        return None
    state = load_state(paths.state)
    if state is None:
        return None
    asked = {"format": options.format, "api": options.api, "source": options.source}
    saved = {"format": state.format, "api": state.api, "source": state.source}
    for key, value in asked.items():
        if saved[key] != value:
            raise StateError(
                f"{paths.state} is for --{'base-url' if key == 'source' else key} "
                f"{saved[key]}, not {value}: run with the same options, or without --resume "
                "to start over"
            )
    if state.since != since:
        raise StateError(
            f"{paths.state} is for --since {state.since or '(none)'}, not {since or '(none)'}"
        )
    if state.finished is not None and _in_place(paths.output, state.finished):
        return state  # complete: run_export only tidies up
    # The lines written so far must not change form halfway through the file.
    if options.format == "jsonl" and state.normalized != options.normalized:
        _refuse_other_encoding(paths, "--normalized", state.normalized)
    if options.format == "csv" and state.formula_guard != options.formula_guard:
        _refuse_other_encoding(paths, "--no-formula-guard", not state.formula_guard)
    try:
        length = paths.part.stat().st_size
    except FileNotFoundError:
        raise StateError(
            f"{paths.state} has no {paths.part.name} beside it: run without --resume to start over"
        ) from None
    if length < state.bytes:
        raise StateError(
            f"{paths.part} is shorter than {paths.state} records: run without --resume"
        )
    return state


def _refuse_other_encoding(paths: ExportPaths, flag: str, had_flag: bool) -> NoReturn:
    was = "with" if had_flag else "without"
    raise StateError(
        f"{paths.state} is for an export {was} {flag}: run with the same options, or without "
        "--resume to start over"
    )
