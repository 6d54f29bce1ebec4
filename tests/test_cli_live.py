"""``export --dedupe`` and ``export --since-last`` on a team that changes during the export.

In process against the emulator (served from a thread), with ``fake.churn`` updating contacts
before each list request; ``fake.changes`` says which contacts a walk could have read twice.
The dedupe's pure parts (the versions it remembers, the rewrite) are tested on files built
here, one of them large with few recent lines, to hold its memory to the changes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heymarket_async import Contact, HeymarketClient, TransportResponse
from heymarket_async._cli import _dedupe, _pages
from heymarket_async._cli._console import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from heymarket_async._cli._dedupe import (
    CorruptLineError,
    LatestVersions,
    drop_older_versions,
    scan_lines,
)
from heymarket_async._cli._state import ExportPaths, load_state
from heymarket_async._sansio import parse_timestamp
from heymarket_async.testing import FakeHeymarket, Fault, MockTransport, RecordedRequest

from ._cli_helpers import listing, run, threaded_fake

N = 3000


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHeymarket]:
    with threaded_fake(N) as fake:
        # tests/conftest.py has already cleared the other Heymarket variables.
        monkeypatch.setenv("HEYMARKET_API_KEY", "test")
        monkeypatch.setenv("HEYMARKET_BASE_URL", fake.url)
        yield fake


def store_records(fake: FakeHeymarket) -> dict[int, Any]:
    """What an export holds for each stored contact now: the contact as the API sends it."""
    return {cid: fake.contacts[cid] for cid in fake.contacts}


def read_records(path: Path, fmt: str) -> list[dict[str, Any]]:
    """The exported records, in file order (CSV rows with ``id`` and ``rev`` as ints)."""
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    return [{**r, "id": int(r["id"]), "rev": int(r["rev"])} for r in rows]


def same_as_stored(record: dict[str, Any], stored: dict[str, Any], fmt: str) -> bool:
    if fmt == "jsonl":
        return record == stored
    return all(
        record[k] == (stored[k] or "") for k in ("uuid", "phone", "first", "last", "updated")
    )


def checked(err: str) -> int:
    """The summary's count of the contacts the dedupe remembered."""
    match = re.search(r"\(([\d,]+) recent contacts? checked\)", err)
    assert match is not None, err
    return int(match[1].replace(",", ""))


class TestDedupeOnALiveTeam:
    @pytest.mark.parametrize("fmt", ["jsonl", "csv"])
    def test_one_line_per_contact_in_its_newest_version(
        self, fake: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
    ) -> None:
        before = store_records(fake)
        fake.churn(updates=5)
        out = tmp_path / f"contacts.{fmt}"
        code, _, err = run(["export", "-o", str(out), "--dedupe"], capsys)
        fake.churn()
        assert code == EXIT_OK, err
        changed = {c.id for c in fake.changes}
        assert len(changed) > 100
        records = read_records(out, fmt)
        ids = [r["id"] for r in records]
        assert len(ids) == len(set(ids))
        assert sorted(ids) == sorted(fake.contacts)
        for r in records:
            assert r["rev"] >= before[r["id"]]["rev"]
            if r["id"] not in changed:
                assert same_as_stored(r, before[r["id"]], fmt)
        dropped = int(re.search(r"dropped ([\d,]+) older", err)[1])  # type: ignore[index]
        assert dropped > 0
        assert err.startswith(f"heymarket-async: exported {N:,} contacts to ")
        # Remembered: the contacts changed during the export and the newest before it.
        assert checked(err) <= len(changed) + 1
        assert listing(tmp_path) == [out.name]

    def test_without_dedupe_changed_contacts_come_twice_and_none_is_missed(
        self, fake: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        before = store_records(fake)
        fake.churn(updates=5)
        out = tmp_path / "contacts.jsonl"
        code, _, err = run(["export", "-o", str(out), "--no-dedupe"], capsys)
        fake.churn()
        assert code == EXIT_OK, err
        assert "checked" not in err
        changed = {c.id for c in fake.changes}
        ids = [r["id"] for r in read_records(out, "jsonl")]
        assert len(ids) > len(set(ids))
        assert {i for i, n in Counter(ids).items() if n > 1} <= changed
        assert set(ids) == set(fake.contacts)
        untouched = set(before) - changed
        assert untouched <= set(ids)

    def test_dedupe_is_the_default_for_v2_to_a_file(
        self, fake: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        fake.churn(updates=5)
        out = tmp_path / "contacts.jsonl"
        code, _, err = run(["export", "-o", str(out)], capsys)
        fake.churn()
        assert code == EXIT_OK, err
        ids = [r["id"] for r in read_records(out, "jsonl")]
        assert sorted(ids) == sorted(fake.contacts)

    def test_the_threshold_is_read_beside_the_walk_and_keeps_a_change_made_meanwhile(
        self, fake: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # The newest-updated read is held until the walk asks for its second page (an export
        # that waited for it would never get there: the hold gives up after 5 s). Meanwhile a
        # contact of the first page changes, and another half a second later: the read finds
        # that second change, later than the first one, whose new version must still be the
        # only line of its contact (a threshold at the newest itself would keep both lines).
        times = {cid: parse_timestamp(fake.contacts[cid]["updated"]) for cid in fake.contacts}
        oldest = min(times, key=lambda cid: (times[cid], cid))
        newest = max(times, key=lambda cid: (times[cid], cid))
        walked = asyncio.Event()
        held: list[bool] = []

        async def hook(request: RecordedRequest) -> None:
            if request.path != "/v2/contacts/list":
                return
            if request.json["ascending"]:
                if "date" in request.json:
                    walked.set()
                return
            try:
                await asyncio.wait_for(walked.wait(), 5)
            except TimeoutError:
                return
            held.append(True)
            now = fake.clock.now()
            fake.update_contact(oldest, first="Changed", updated=now)
            fake.update_contact(newest, first="Later", updated=now + timedelta(seconds=0.5))

        fake.on_request(hook)
        out = tmp_path / "contacts.jsonl"
        code, _, err = run(["export", "-o", str(out)], capsys)
        assert code == EXIT_OK, err
        assert held == [True]
        records = read_records(out, "jsonl")
        assert sorted(r["id"] for r in records) == sorted(fake.contacts)
        firsts = {r["id"]: r["first"] for r in records}
        assert (firsts[oldest], firsts[newest]) == ("Changed", "Later")

    def test_a_quiet_team_costs_one_request_and_no_rewrite(
        self, fake: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = tmp_path / "contacts.jsonl"
        code, _, err = run(["export", "-o", str(out), "--dedupe"], capsys)
        assert code == EXIT_OK, err
        # Remembered: the contacts within a second or so of the newest (see _threshold).
        times = [parse_timestamp(c["updated"]) for c in fake.contacts.values()]
        recent = sum(1 for t in times if t >= max(times) - timedelta(seconds=3))
        assert "no contact came twice" in err
        assert 1 <= checked(err) <= recent < N
        reads = fake.requests_to("POST /v2/contacts/list")
        newest = [r for r in reads if not r.json["ascending"]]
        assert [r.json for r in newest] == [{"limit": 1, "page": 0, "ascending": False}]
        assert len(read_records(out, "jsonl")) == N


class TestPartsInFlight:
    """How many parts of the ``updated`` range an export reads at once."""

    def parts(self, out: Path) -> int:
        # The boundaries of K parts are K - 1 pages read by offset from the start (no date),
        # oldest first; every other request of the walk but its first sends a date.
        bounds = [
            r
            for r in self.fake.requests_to("POST /v2/contacts/list")
            if r.json["page"] > 0 and "date" not in r.json
        ]
        return len([r for r in bounds if r.json["ascending"]]) + 1

    @pytest.mark.parametrize(("flags", "k"), [([], 4), (["--concurrency", "2"], 2)])
    def test_unpaced_reads_four_parts_unless_told(
        self,
        fake: FakeHeymarket,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        flags: list[str],
        k: int,
    ) -> None:
        self.fake = fake
        out = tmp_path / "contacts.jsonl"
        code, _, err = run(["export", "-o", str(out), *flags], capsys)
        assert code == EXIT_OK, err
        assert self.parts(out) == k
        assert len(read_records(out, "jsonl")) == N

    @pytest.mark.parametrize(
        ("rate_limit", "concurrency", "wanted"),
        [(None, None, 4), (500.0, None, None), (500.0, 3, 3), (None, 1, 1)],
    )
    def test_a_paced_client_sizes_its_parts_by_rate_and_latency(
        self, rate_limit: float | None, concurrency: int | None, wanted: int | None
    ) -> None:
        # None: "auto", chosen from the rate x the count request's latency (the walk's tests).
        hm = HeymarketClient(
            "k",
            transport=MockTransport(lambda _: TransportResponse(200, {}, b"[]")),
            rate_limit=rate_limit,
        )
        source = _pages.open_pages(hm, "v2", None, None, raw=True, concurrency=concurrency)
        assert source._pager._wanted == wanted  # type: ignore[attr-defined]


class TestDedupeAfterResume:
    @pytest.mark.parametrize("fmt", ["jsonl", "csv"])
    def test_a_failed_export_resumed_still_has_one_line_per_contact(
        self,
        fake: FakeHeymarket,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        fmt: str,
    ) -> None:
        before = store_records(fake)
        fake.churn(updates=5)
        # One part (the export reads four at once): the newest-updated request, then 30 pages,
        # which reach the contacts changed during the walk (32 list requests in all): the last
        # page fails, after contacts were read twice.
        monkeypatch.setattr(_pages, "V2_SLICES", 1)
        fake.faults.add("POST /v2/contacts/list", Fault.status(503), on=range(32, 200))
        out = tmp_path / f"contacts.{fmt}"
        args = ["export", "-o", str(out), "--dedupe", "--max-retries", "0"]
        code, _, err = run(args, capsys)
        assert code == EXIT_FAILURE, err
        state = load_state(ExportPaths.for_output(out).state)
        assert state is not None
        assert state.dedupe
        assert state.newest is not None
        assert N - 100 < state.contacts < N
        first_run = {c.id for c in fake.changes}
        part = read_records(ExportPaths.for_output(out).part, fmt)
        repeated = [cid for cid, n in Counter(r["id"] for r in part).items() if n > 1]
        # Contacts read twice before the failure: only the resumed run's rescan remembers them.
        assert repeated

        fake.faults.clear()
        code, _, err = run(["export", "-o", str(out), "--resume"], capsys)
        fake.churn()
        assert code == EXIT_OK, err
        assert f"{state.contacts:,} of them by an earlier run" in err
        changed = {c.id for c in fake.changes}
        assert first_run < changed
        records = read_records(out, fmt)
        ids = [r["id"] for r in records]
        assert len(ids) == len(set(ids))
        assert sorted(ids) == sorted(fake.contacts)
        for r in records:
            if r["id"] not in changed:
                assert same_as_stored(r, before[r["id"]], fmt)
        assert listing(tmp_path) == [out.name]

    def test_resume_must_keep_the_dedupe_choice(
        self, fake: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # Past the first pages: an export that saved no contact leaves nothing to resume.
        fake.faults.add("POST /v2/contacts/list", Fault.status(503), on=range(9, 200))
        out = tmp_path / "contacts.jsonl"
        code, _, err = run(["export", "-o", str(out), "--max-retries", "0"], capsys)
        assert code == EXIT_FAILURE
        assert "contacts saved; run the same command with --resume" in err
        fake.faults.clear()
        code, _, err = run(["export", "-o", str(out), "--resume", "--no-dedupe"], capsys)
        assert code == EXIT_USAGE
        assert "is for an export with --dedupe" in err
        code, _, err = run(["export", "-o", str(out), "--resume"], capsys)
        assert code == EXIT_OK, err

    def test_a_partial_file_that_disagrees_with_its_state_is_refused(
        self, fake: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        fake.faults.add("POST /v2/contacts/list", Fault.status(503), on=range(9, 200))
        out = tmp_path / "contacts.jsonl"
        code, _, _ = run(["export", "-o", str(out), "--max-retries", "0"], capsys)
        assert code == EXIT_FAILURE
        fake.faults.clear()
        part = ExportPaths.for_output(out).part
        part.write_bytes(b"not json\n" + part.read_bytes()[9:])
        code, _, err = run(["export", "-o", str(out), "--resume"], capsys)
        assert code == EXIT_USAGE
        assert "contact 1 is not a contact as exported" in err


class TestSinceLast:
    def test_each_run_exports_what_changed_since_the_last(
        self, fake: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        mark = tmp_path / "mark.json"
        first, second, third = (tmp_path / f"run{i}.jsonl" for i in (1, 2, 3))

        code, _, err = run(["export", "-o", str(first), "--since-last", str(mark)], capsys)
        assert code == EXIT_OK, err
        assert f"first mark {mark}" in err
        assert sorted(r["id"] for r in read_records(first, "jsonl")) == sorted(fake.contacts)
        assert json.loads(mark.read_text())["position"]["slices"][0]["done"]

        updated = [3, 1500, 2999]
        for cid in updated:
            fake.update_contact(cid, first="Changed")
        fake.update_contact(1500, last="Twice")
        created = [fake.add_contact(phone=f"+1510555{i:04d}", first="New")["id"] for i in (1, 2)]
        code, _, err = run(["export", "-o", str(second), "--since-last", str(mark)], capsys)
        assert code == EXIT_OK, err
        assert f"changed since {mark}" in err
        records = read_records(second, "jsonl")
        now = store_records(fake)
        assert sorted(r["id"] for r in records) == sorted(updated + created)
        assert all(r == now[r["id"]] for r in records)
        kept = mark.read_bytes()

        code, _, err = run(["export", "-o", str(third), "--since-last", str(mark)], capsys)
        assert code == EXIT_OK, err
        assert err.startswith("heymarket-async: exported 0 contacts")
        assert third.read_bytes() == b""
        assert mark.read_bytes() == kept

    def test_a_failed_run_keeps_the_mark_and_the_next_exports_its_changes(
        self, fake: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        mark = tmp_path / "mark.json"
        out = tmp_path / "changes.csv"
        code, _, err = run(["export", "-o", str(out), "--since-last", str(mark)], capsys)
        assert code == EXIT_OK, err
        kept = mark.read_bytes()
        fake.update_contact(7, first="Seven")
        fake.faults.add("POST /v2/contacts/list", Fault.status(503), times=100)
        code, _, err = run(
            ["export", "-o", str(out), "--since-last", str(mark), "--max-retries", "0"], capsys
        )
        assert code == EXIT_FAILURE
        assert mark.read_bytes() == kept
        assert not (tmp_path / "mark.json.tmp").exists()

        fake.faults.clear()
        code, _, err = run(["export", "-o", str(out), "--since-last", str(mark)], capsys)
        assert code == EXIT_OK, err
        records = read_records(out, "csv")
        assert [(r["id"], r["first"]) for r in records] == [(7, "Seven")]
        assert mark.read_bytes() != kept

    def test_an_interrupted_incremental_run_resumes_and_then_moves_the_mark(
        self, fake: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        mark = tmp_path / "mark.json"
        out = tmp_path / "changes.jsonl"
        assert run(["export", "-o", str(out), "--since-last", str(mark)], capsys)[0] == EXIT_OK
        kept = mark.read_bytes()
        touched = list(range(1, 301))
        for cid in touched:
            fake.update_contact(cid, first="Again")
        # The newest-updated request, a page, then failures.
        fake.faults.add("POST /v2/contacts/list", Fault.status(503), on=range(3, 100))
        args = ["export", "-o", str(out), "--since-last", str(mark), "--max-retries", "0"]
        assert run(args, capsys)[0] == EXIT_FAILURE
        assert mark.read_bytes() == kept
        fake.faults.clear()
        code, _, err = run([*args, "--resume"], capsys)
        assert code == EXIT_OK, err
        assert sorted(r["id"] for r in read_records(out, "jsonl")) == touched
        assert mark.read_bytes() != kept
        code, _, err = run(["export", "-o", str(out), "--since-last", str(mark)], capsys)
        assert (code, read_records(out, "jsonl")) == (EXIT_OK, [])

    def test_a_mark_from_another_source_is_refused(
        self, fake: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        mark = tmp_path / "mark.json"
        out = tmp_path / "c.jsonl"
        code, _, err = run(
            ["export", "--sandbox", "10", "-o", str(out), "--since-last", str(mark)], capsys
        )
        assert code == EXIT_OK, err
        code, _, err = run(["export", "-o", str(out), "--since-last", str(mark)], capsys)
        assert code == EXIT_USAGE
        assert "is the mark of an export from sandbox:10" in err

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            (["--api", "v1"], "--since-last needs --api v2"),
            (["--since", "2024-01-01"], "--since-last and --since exclude each other"),
        ],
    )
    def test_usage_errors(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
    ) -> None:
        mark = tmp_path / "mark.json"
        out = tmp_path / "c.jsonl"
        code, _, err = run(["export", "-o", str(out), "--since-last", str(mark), *extra], capsys)
        assert code == EXIT_USAGE
        assert message in err
        assert listing(tmp_path) == []


class TestDedupeUsage:
    def test_dedupe_needs_a_file(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run(["export", "--sandbox", "5", "-o", "-", "--dedupe"], capsys)
        assert (code, out) == (EXIT_USAGE, "")
        assert "--dedupe needs a file (-o FILE), not stdout" in err

    def test_stdout_export_is_not_deduped(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run(["export", "--sandbox", "5", "-o", "-"], capsys)
        assert code == EXIT_OK, err
        assert len(out.splitlines()) == 5
        assert "checked" not in err


T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def rfc3339(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def jsonl_line(cid: int, at: datetime, note: str = "") -> bytes:
    return f'{{"id":{cid},"first":"{note}","updated":"{rfc3339(at)}"}}\n'.encode()


class TestLatestVersions:
    def test_remembers_only_lines_at_or_after_newest(self) -> None:
        versions = LatestVersions(T0)
        versions.add(1, T0 - timedelta(seconds=1))
        versions.add(2, T0)
        versions.add(1, T0 + timedelta(seconds=1))
        versions.add(None, T0)
        versions.add(3, None)
        assert len(versions) == 2
        assert versions.lines == 5
        assert not versions.keeps(1, 0)
        assert versions.keeps(1, 2)
        assert versions.keeps(2, 1)
        assert versions.keeps(4, 9)

    def test_newest_by_updated_then_the_later_line(self) -> None:
        versions = LatestVersions(T0)
        later = T0 + timedelta(seconds=5)
        versions.add_page(
            [Contact(id=1, updated=later), Contact(id=1, updated=T0), Contact(id=1, updated=later)]
        )
        assert [versions.keeps(1, line) for line in range(3)] == [False, False, True]

    def test_an_empty_team_remembers_every_line(self) -> None:
        versions = LatestVersions(None)
        versions.add(1, T0 - timedelta(days=365))
        assert len(versions) == 1

    def test_a_naive_time_is_utc(self) -> None:
        versions = LatestVersions(T0)
        versions.add(1, datetime(2025, 1, 1, 0, 0, 1))
        assert len(versions) == 1


class TestLatestVersionsOfRawContacts:
    """``add_raw_page``: ids and ``updated`` as the API sent them, parsed only when needed."""

    def test_the_same_as_typed_for_the_apis_own_times(self) -> None:
        newest = T0 + timedelta(milliseconds=120)
        times = [newest + timedelta(milliseconds=ms) for ms in (-1001, -1, 0, 1, 999, 1000)]
        sent = [
            {"id": i, "updated": t.isoformat(timespec="milliseconds")[:-6] + "Z"}
            for i, t in enumerate(times)
        ]
        raw, typed = LatestVersions(newest), LatestVersions(newest)
        raw.add_raw_page(sent)
        typed.add_page([Contact(id=i, updated=t) for i, t in enumerate(times)])
        assert raw.lines == typed.lines == 6
        assert len(raw) == len(typed) == 4  # 0 ms and after: a change in newest's instant too
        assert [raw.keeps(i, i) for i in range(6)] == [typed.keeps(i, i) for i in range(6)]

    @pytest.mark.parametrize(
        "updated",
        [
            "2025-01-01T02:00:00+02:00",  # after T0 in UTC, before it as text
            "2024-12-31T23:30:00-01:00",
            "2025-01-01 00:00:01Z",  # a space sorts before "T"
            "2025-01-01T0001Z",  # 00:01 in the basic form, which fromisoformat reads
            "2025-01-01T00:00:01z",
            "2025-01-01T00:00:00.000001Z",
        ],
    )
    def test_a_time_in_another_shape_is_parsed(self, updated: str) -> None:
        # Alone, and on a page of the API's own times that are all before T0.
        versions = LatestVersions(T0)
        versions.add_raw_page([{"id": 1, "updated": updated}])
        assert len(versions) == 1
        old = [{"id": i, "updated": f"2024-06-0{i}T00:00:00.000Z"} for i in range(2, 9)]
        versions = LatestVersions(T0)
        versions.add_raw_page([*old, {"id": 1, "updated": updated}, *old])
        assert (versions.lines, len(versions)) == (15, 1)
        assert not versions.keeps(1, 0)

    def test_a_page_before_newest_is_counted_and_not_remembered(self) -> None:
        page = [{"id": i, "updated": rfc3339(T0 - timedelta(seconds=i))} for i in range(1, 101)]
        versions = LatestVersions(T0)
        versions.add_raw_page(page)
        versions.add_raw_page([{"id": 1, "updated": rfc3339(T0)}])
        assert (versions.lines, len(versions)) == (101, 1)
        assert [versions.keeps(1, line) for line in (0, 100)] == [False, True]

    @pytest.mark.parametrize("updated", [None, 5, "yesterday", ""])
    def test_no_time_is_never_remembered(self, updated: Any) -> None:
        versions = LatestVersions(T0)
        versions.add_raw_page([{"id": 1, "updated": updated}, {"id": 2}])
        assert (versions.lines, len(versions)) == (2, 0)
        assert versions.keeps(1, 0)

    def test_ids_as_the_file_reads_them_back(self) -> None:
        versions = LatestVersions(T0)
        later = rfc3339(T0 + timedelta(seconds=1))
        versions.add_raw_page(
            [{"id": "7", "updated": rfc3339(T0)}, {"id": 7, "updated": later}, {"updated": later}]
        )
        assert len(versions) == 1
        assert (versions.keeps(7, 0), versions.keeps(7, 1)) == (False, True)


#: JSONL lines as the final pass may meet them: the id first (the exporter's and the emulator's
#: order), elsewhere, as text, missing, or a line that is no contact at all.
def _line(cid: Any, minute: int, id_first: bool) -> bytes:
    at = rfc3339(T0 + timedelta(minutes=minute))
    if cid is None:
        return f'{{"updated":"{at}"}}\n'.encode()
    if id_first:
        return f'{{"id":{json.dumps(cid)},"updated":"{at}","n":"{"x" * minute}"}}\n'.encode()
    return f'{{"first":"a\\n{{\\"id\\":{cid},","id":{json.dumps(cid)},"updated":"{at}"}}\n'.encode()


jsonl_files = st.lists(
    st.tuples(
        st.sampled_from([1, 2, 3, 10, "3", "x", None]),
        st.integers(-3, 3),
        st.booleans(),
    ),
    max_size=30,
)


class TestDropOlderVersions:
    @settings(max_examples=200, deadline=None)
    @given(jsonl_files, st.booleans(), st.booleans(), st.sampled_from([0, 64]))
    def test_what_goes_is_what_each_line_read_with_its_id_says(
        self,
        tmp_path_factory: pytest.TempPathFactory,
        spec: Any,
        ends: bool,
        by_id: bool,
        few: int,
    ) -> None:
        # Whatever the lines, the same lines go whether the dedupe knows every line's id
        # (whole numbers: the file is not read when nothing goes; each remembered contact's
        # lines found by a scan of the ids, or all ids read in turn) or reads the file.
        lines = [_line(cid, minute, first) for cid, minute, first in spec]
        data = b"".join(lines)
        if not ends and data:
            data = data[:-1]  # the last line without its newline
        tmp = tmp_path_factory.mktemp("drop")
        part = tmp / "c.jsonl.part"
        part.write_bytes(data)
        versions = LatestVersions(T0)
        with open(part, "rb") as stream:
            scan_lines(stream, "jsonl", versions)
        if not by_id:
            versions._ids = None
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_dedupe, "_FEW", few)
            known = versions.older_lines()
        whole = all(type(_dedupe._id_key(cid)) is int for cid, _, _ in spec)  # "3" is 3
        assert (known is not None) == (by_id and whole)
        expected = [
            line
            for i, line in enumerate(io.BytesIO(data).readlines())
            if versions.keeps(_dedupe._jsonl_id(line), i)
        ]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_dedupe, "_FEW", few)
            dropped = drop_older_versions(part, tmp / "c.tmp", "jsonl", versions)
        assert dropped == len(lines) - len(expected)
        if dropped:
            assert (tmp / "c.tmp").read_bytes() == b"".join(expected)
        else:
            assert not (tmp / "c.tmp").exists()

    def test_a_file_without_older_versions_is_not_read(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        versions = LatestVersions(T0)
        versions.add_raw_page(
            [{"id": i, "updated": rfc3339(T0 - timedelta(seconds=i))} for i in range(1, 101)]
        )
        versions.add_raw_page([{"id": 7, "updated": rfc3339(T0)}, {"id": 200, "updated": None}])
        assert versions.older_lines() == {6}
        versions = LatestVersions(T0)
        versions.add_raw_page([{"id": 1, "updated": rfc3339(T0)}])
        assert versions.older_lines() == set()
        assert drop_older_versions(tmp_path / "missing", tmp_path / "tmp", "jsonl", versions) == 0

    @pytest.mark.parametrize(
        "ids", [[1, "2"], [1, None], [1, True], [1, 2**63], [1, 2.0]], ids=repr
    )
    def test_ids_that_are_not_whole_numbers_send_it_to_the_file(self, ids: list[Any]) -> None:
        versions = LatestVersions(T0)
        old = rfc3339(T0 - timedelta(days=1))
        versions.add_raw_page([{"id": i, "updated": old} for i in ids])
        versions.add_raw_page([{"id": 1, "updated": rfc3339(T0)}])
        assert versions.older_lines() is None
        assert versions.lines == 3

    def test_a_large_file_with_few_recent_lines(self, tmp_path: Path) -> None:
        # 100,000 old contacts, then 40 lines written after the export began: 25 contacts
        # changed during it, 15 of them read before too (their old lines are dropped).
        lines = [jsonl_line(cid, T0 - timedelta(seconds=100_000 - cid)) for cid in range(100_000)]
        recent = [(cid, T0 + timedelta(seconds=i)) for i, cid in enumerate(range(100, 2600, 100))]
        recent += [(cid, at + timedelta(seconds=60)) for cid, at in recent[:15]]
        lines += [jsonl_line(cid, at, "new") for cid, at in recent]
        part = tmp_path / "c.jsonl.part"
        part.write_bytes(b"".join(lines))

        versions = LatestVersions(T0)
        with open(part, "rb") as stream:
            scan_lines(stream, "jsonl", versions)
        assert versions.lines == 100_040
        assert len(versions) == 25

        tmp = tmp_path / "c.jsonl.tmp"
        assert drop_older_versions(part, tmp, "jsonl", versions) == 40
        kept = [json.loads(line) for line in tmp.read_bytes().splitlines()]
        assert len(kept) == 100_000
        assert sorted(r["id"] for r in kept) == list(range(100_000))
        newest = dict(recent)
        for r in kept:
            if r["id"] in newest:
                assert r["first"] == "new"
                assert r["updated"] == rfc3339(newest[r["id"]])

    def test_nothing_to_drop_writes_nothing(self, tmp_path: Path) -> None:
        part = tmp_path / "c.jsonl.part"
        part.write_bytes(jsonl_line(1, T0) + jsonl_line(2, T0))
        versions = LatestVersions(T0)
        with open(part, "rb") as stream:
            scan_lines(stream, "jsonl", versions)
        tmp = tmp_path / "c.jsonl.tmp"
        assert drop_older_versions(part, tmp, "jsonl", versions) == 0
        assert not tmp.exists()

    def test_csv_keeps_the_header_and_rows_with_line_breaks(self, tmp_path: Path) -> None:
        from heymarket_async._cli._output import STANDARD_COLUMNS, CsvEncoder

        encoder = CsvEncoder([], STANDARD_COLUMNS)
        old = {
            "id": 2,
            "first": 'Multi\r\nline "quoted"',
            "updated": rfc3339(T0 - timedelta(seconds=9)),
        }
        new = {"id": 2, "first": "Plain", "updated": rfc3339(T0 + timedelta(seconds=1))}
        other = {"id": 3, "first": "a,\nb", "updated": rfc3339(T0)}
        part = tmp_path / "c.csv.part"
        part.write_bytes(encoder.header() + encoder.encode([old, other, new]))
        versions = LatestVersions(T0)
        with open(part, "rb") as stream:
            scan_lines(stream, "csv", versions)
        assert (versions.lines, len(versions)) == (3, 2)
        tmp = tmp_path / "c.csv.tmp"
        assert drop_older_versions(part, tmp, "csv", versions) == 1
        assert tmp.read_bytes() == encoder.header() + encoder.encode([other, new])

    def test_a_line_that_is_no_contact(self, tmp_path: Path) -> None:
        part = tmp_path / "c.jsonl.part"
        part.write_bytes(jsonl_line(1, T0) + b"[1, 2]\n")
        with open(part, "rb") as stream, pytest.raises(CorruptLineError, match="contact 2"):
            scan_lines(stream, "jsonl", LatestVersions(T0))


#: Fields the SDK has no place for, served on every contact (``extra_fields``).
EXTRA = {"loyalty_tier": "gold", "score": 1.5, "nested": {"a": [1, None, "é"]}}


class TestJsonlId:
    """The id the dedupe reads back from a line is the one its contact was decoded with."""

    @pytest.mark.parametrize(
        ("line", "wanted"),
        [
            (b'{"id":12,"first":"a"}\n', 12),
            (b'{"id":1,"owner":{"id":5}}\n', 1),
            # The API's own text, written as it is, may repeat a key: the last one counts.
            (b'{"id":1,"first":"a","id":3}\n', 3),
            (b'{"first":"a","id":7}\n', 7),
        ],
    )
    def test_a_line_gives_the_id_its_decoded_contact_has(self, line: bytes, wanted: int) -> None:
        assert _dedupe._jsonl_id(line) == wanted == json.loads(line)["id"]


class TestFieldsTheSdkDoesNotKnow:
    @pytest.fixture
    def extra(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHeymarket]:
        with threaded_fake(N, extra_fields=EXTRA) as fake:
            monkeypatch.setenv("HEYMARKET_API_KEY", "test")
            monkeypatch.setenv("HEYMARKET_BASE_URL", fake.url)
            yield fake

    @pytest.mark.parametrize("api", ["v1", "v2"])
    def test_jsonl_keeps_them_on_every_contact(
        self, extra: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str], api: str
    ) -> None:
        out = tmp_path / "contacts.jsonl"
        code, _, err = run(["export", "-o", str(out), "--api", api], capsys)
        assert code == EXIT_OK, err
        records = read_records(out, "jsonl")
        assert len(records) == N
        assert all({k: r[k] for k in EXTRA} == EXTRA for r in records)
        assert {r["id"]: r for r in records} == store_records(extra)

    def test_csv_names_them_with_their_counts(
        self, extra: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = tmp_path / "contacts.csv"
        code, _, err = run(["export", "-o", str(out)], capsys)
        assert code == EXIT_OK, err
        assert err.splitlines()[-1] == (
            "heymarket-async: not in the CSV: loyalty_tier (3,000 contacts), "
            "nested (3,000 contacts), score (3,000 contacts)"
        )
        code, _, err = run(["export", "-o", str(out), "-q"], capsys)
        assert (code, err) == (EXIT_OK, "")
