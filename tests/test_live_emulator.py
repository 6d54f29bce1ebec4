"""Acceptance tests of exact paging on live data, over loopback against the emulator.

Each switch the emulator has for what a real server may do is met by the walk that must
survive it:

- ``cursor_resolution="microseconds"`` (``updated`` rendered in ms, cursors compared in µs)
  with contacts 300 µs apart, so several share a rendered millisecond and some sit at exactly
  ``.xxx000``: the v1 walk in all four modes, with and without ``since``, and the v2 keyset
  walk give every contact exactly once;
- ``tie_order="reversed"`` / ``"shuffled"`` (the order inside a tie group changes per request):
  exactly once or ``PaginationError``, never a duplicate, in a bounded number of requests;
- ``fake.churn``: ``heymarket-async export`` (v2 keyset walk, dedupe or not) loses no contact
  nobody touched and has the last version of every contact changed before its last request;
- a hung list request (``Fault.hang()``) is cut off by ``read_attempt_timeout`` and retried:
  the walk goes on, every contact exactly once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from heymarket_async import HeymarketClient, PaginationError, RetryPolicy
from heymarket_async._cli._console import EXIT_OK
from heymarket_async._sansio import parse_timestamp
from heymarket_async.testing import FakeHeymarket, Fault
from tests._cli_helpers import run, threaded_fake
from tests._paging import assert_exactly_once, collect, ids_of

V1_LIST = "POST /v1/contacts"
V2_LIST = "POST /v2/contacts/list"
NO_WAIT = RetryPolicy(max_retries=3, backoff_base=0.0, backoff_max=0.0)
MODES = [
    pytest.param((order, inclusive), id=f"{order}-{'incl' if inclusive else 'excl'}")
    for order in ("newest_first", "oldest_first")
    for inclusive in (True, False)
]
#: Contacts 300 µs apart, alone or in groups of 45 (more than a v1 page: read through v2).
PATTERNS = [pytest.param(1, id="single"), pytest.param([1, 45], id="groups-of-45")]


def updated_of(fake: FakeHeymarket) -> dict[int, str]:
    """Each stored contact's ``updated`` as the API renders it."""
    return {cid: fake.contacts[cid]["updated"] for cid in fake.contacts}


def crowded_millisecond(updated: dict[int, str]) -> str:
    """A rendered ``updated`` in the middle of the team that several contacts share, one of them
    at its exact millisecond (``.xxx000`` stored): the hardest ``since`` for a µs server."""
    counts = Counter(updated.values())
    crowded = sorted(text for text, n in counts.items() if n >= 3)
    assert crowded
    return crowded[len(crowded) // 2]


def after(updated: dict[int, str], since: str | None) -> set[int]:
    """The contacts a walk with ``since`` must give: those rendered after it."""
    if since is None:
        return set(updated)
    cut = parse_timestamp(since)
    return {cid for cid, text in updated.items() if parse_timestamp(text) > cut}


# -- 1. ms text, µs cursor ---------------------------------------------------------------------


@pytest.fixture
async def micro_fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeHeymarket]:
    order: Any
    order, inclusive = getattr(request, "param", ("newest_first", False))
    async with FakeHeymarket(
        cursor_resolution="microseconds", v1_order=order, v1_cursor_inclusive=inclusive
    ) as fake:
        yield fake


class TestMillisecondTextMicrosecondCursor:
    def test_the_seed_makes_what_the_tests_need(self) -> None:
        # 600 contacts 300 µs apart from a whole second: several per rendered millisecond, every
        # tenth at exactly .xxx000 (guards the premise of the tests below).
        fake = FakeHeymarket(cursor_resolution="microseconds")
        fake.seed(600, step=0.0003)
        updated = updated_of(fake)
        counts = Counter(updated.values())
        assert max(counts.values()) >= 3
        assert len(counts) < 600
        stored = {cid: fake.store.get(cid).updated % 1_000_000 for cid in (11, 12)}  # type: ignore[union-attr]
        assert stored == {11: 3000, 12: 3300}  # exactly .003000, and .003300
        assert updated[11] == updated[12] == "2025-01-01T00:00:00.003Z"

    @pytest.mark.parametrize("micro_fake", MODES, indirect=True)
    @pytest.mark.parametrize("pattern", PATTERNS)
    @pytest.mark.parametrize("with_since", [False, True], ids=["all", "since"])
    async def test_v1_walk_exactly_once_in_every_mode(
        self, micro_fake: FakeHeymarket, pattern: int | list[int], with_since: bool
    ) -> None:
        fake = micro_fake
        fake.seed(600, step=0.0003, tie_group_size=pattern)
        updated = updated_of(fake)
        since = crowded_millisecond(updated) if with_since else None
        async with fake.client(retry=NO_WAIT) as hm:
            got = await ids_of(hm.iter_contacts(since=since))
        expected = after(updated, since)
        if since is not None:
            # The cut falls inside the team and inside a rendered millisecond's group.
            assert 100 < len(expected) < 500
            same_text = [cid for cid, text in updated.items() if text == since]
            assert len(same_text) >= 3
        assert_exactly_once(got, expected)

    @pytest.mark.parametrize("pattern", PATTERNS)
    @pytest.mark.parametrize("slices", [1, 3])
    @pytest.mark.parametrize("with_since", [False, True], ids=["all", "since"])
    async def test_v2_keyset_walk_exactly_once(
        self, micro_fake: FakeHeymarket, pattern: int | list[int], slices: int, with_since: bool
    ) -> None:
        fake = micro_fake
        fake.seed(600, step=0.0003, tie_group_size=pattern)
        updated = updated_of(fake)
        since = crowded_millisecond(updated) if with_since else None
        async with fake.client(retry=NO_WAIT) as hm:
            got = await ids_of(hm.v2.iter_contacts(since=since, slices=slices))
        assert_exactly_once(got, after(updated, since))

    @pytest.mark.parametrize(("n", "ties", "slices"), [(2000, 2, 1), (700, 1, 2)])
    async def test_v2_keyset_walk_since_a_crowded_millisecond(
        self, micro_fake: FakeHeymarket, n: int, ties: int, slices: int
    ) -> None:
        # n contacts 1 µs apart (``ties`` per µs), all rendered "...00.000Z": a µs server sends
        # them all for ``date`` "...00.000Z" and the walk drops them (not after ``since``).
        fake = micro_fake
        fake.seed(n, step=0.000001, tie_group_size=ties)
        later = fake.add_contact(phone="+15105550000")["id"]  # now: after them all
        async with fake.client(retry=NO_WAIT) as hm:
            pager = hm.v2.iter_contacts(since="2025-01-01T00:00:00.000Z", slices=slices)
            assert await ids_of(pager) == [later]

    @pytest.mark.parametrize("page_size", [7, 30, 100])
    async def test_v2_keyset_walk_with_pages_ending_inside_a_millisecond(
        self, micro_fake: FakeHeymarket, page_size: int
    ) -> None:
        fake = micro_fake
        fake.seed(600, step=0.0003)
        async with fake.client(retry=NO_WAIT) as hm:
            got = await ids_of(hm.v2.iter_contacts(page_size=page_size))
        assert_exactly_once(got, set(fake.contacts))


# -- 2. tie order that changes per request ----------------------------------------------------


def bounded(fake: FakeHeymarket, handed_out: int) -> None:
    """At most 8 list requests per 100 contacts handed out, plus 40."""
    lists = len(fake.requests_to(V1_LIST)) + len(fake.requests_to(V2_LIST))
    assert lists == fake.list_requests
    assert lists <= 8 * handed_out / 100 + 40, (lists, handed_out)


async def once_or_error(pager: Any, expected: set[int]) -> tuple[list[int], bool]:
    """Walk ``pager``: exactly ``expected`` once, or a ``PaginationError`` after no duplicate.
    Returns what came out and whether the walk raised."""
    got: list[int] = []
    try:
        await collect(pager, got)
    except PaginationError:
        assert len(got) == len(set(got)), "a duplicate before the error"
        assert set(got) <= expected
        return got, True
    assert_exactly_once(got, expected)
    return got, False


@pytest.mark.parametrize("tie_order", ["reversed", "shuffled"])
class TestUnstableTieOrder:
    @pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
    async def test_v1_walk(self, tie_order: str, order: str) -> None:
        async with FakeHeymarket(tie_order=tie_order, v1_order=order, seed=7) as fake:  # type: ignore[arg-type]
            fake.seed(1000, tie_group_size=[1, 250, 1])
            async with fake.client(retry=NO_WAIT) as hm:
                got, _ = await once_or_error(hm.iter_contacts(), set(fake.contacts))
            bounded(fake, len(got))

    @pytest.mark.parametrize("slices", [1, 3])
    async def test_v2_keyset_walk(self, tie_order: str, slices: int) -> None:
        async with FakeHeymarket(tie_order=tie_order, seed=7) as fake:  # type: ignore[arg-type]
            fake.seed(1000, tie_group_size=[1, 250, 1])
            async with fake.client(retry=NO_WAIT) as hm:
                got, _ = await once_or_error(hm.v2.iter_contacts(slices=slices), set(fake.contacts))
            bounded(fake, len(got))

    async def test_groups_that_fit_a_page_need_no_stable_order(self, tie_order: str) -> None:
        # Tie groups of 25 (under a v1 page) and of 90 (under a v2 page) are each read in one
        # request: whatever order the server gives them, every contact exactly once.
        async with FakeHeymarket(tie_order=tie_order, seed=3) as fake:  # type: ignore[arg-type]
            fake.seed(1000, tie_group_size=[1, 25, 1, 90])
            async with fake.client(retry=NO_WAIT) as hm:
                assert_exactly_once(await ids_of(hm.iter_contacts()), set(fake.contacts))
                assert_exactly_once(await ids_of(hm.v2.iter_contacts()), set(fake.contacts))
            bounded(fake, 2000)


# -- 3. a live export through the CLI ---------------------------------------------------------

N_EXPORT = 20_000


@pytest.fixture
def team(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHeymarket]:
    with threaded_fake(N_EXPORT) as fake:
        monkeypatch.setenv("HEYMARKET_API_KEY", "test")
        monkeypatch.setenv("HEYMARKET_BASE_URL", fake.url)
        yield fake


class TestLiveExport:
    @pytest.mark.parametrize("dedupe", [True, False], ids=["dedupe", "no-dedupe"])
    def test_untouched_exactly_once_and_changed_in_their_last_version(
        self,
        team: FakeHeymarket,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        dedupe: bool,
    ) -> None:
        fake = team
        original = {cid: fake.contacts[cid]["rev"] for cid in fake.contacts}
        fake.churn(updates=10, creates=1, deletes=1, seed=11)
        out = tmp_path / "out.jsonl"
        argv = ["export", "--api", "v2", "-o", str(out)]
        code, _, err = run([*argv] if dedupe else [*argv, "--no-dedupe"], capsys)
        fake.churn()
        assert code == EXIT_OK, err

        records = [json.loads(line) for line in out.read_text().splitlines()]
        revs: dict[int, list[int]] = {}
        for r in records:
            revs.setdefault(r["id"], []).append(r["rev"])
        lists = len(fake.requests_to(V2_LIST))
        assert {c.request for c in fake.changes} == set(range(1, lists + 1)), "all churned"
        last_change = {c.id: c for c in fake.changes}

        # Never touched by the churn: there, exactly once, as it was.
        untouched = [cid for cid in original if cid not in last_change]
        assert len(untouched) > N_EXPORT // 2
        missing = [cid for cid in untouched if cid not in revs]
        assert not missing, f"untouched contacts missing: {missing[:10]}"
        wrong = [cid for cid in untouched if revs[cid] != [original[cid]]]
        assert not wrong, [(cid, revs[cid], original[cid]) for cid in wrong[:10]]

        # Alive at the end and last changed before the export's last list request read the
        # store (changes for request n are made just before it): there in its final version.
        final = {cid: fake.contacts[cid]["rev"] for cid in fake.contacts}
        due = [
            cid
            for cid, change in last_change.items()
            if change.kind != "delete" and change.request is not None and change.request <= lists
        ]
        assert len(due) > 1000
        stale = [cid for cid in due if final[cid] not in revs.get(cid, [])]
        assert not stale, [(cid, revs.get(cid), final[cid], last_change[cid]) for cid in stale[:5]]
        # Only versions that existed: never newer than the final one, never older than the first.
        for cid, seen in revs.items():
            if cid in final:
                assert max(seen) <= final[cid], (cid, seen)
            assert min(seen) >= original.get(cid, 1), (cid, seen)

        if dedupe:
            assert all(len(seen) == 1 for seen in revs.values()), "one line per contact"
            assert set(revs) >= set(final), "every contact alive at the end"
        else:
            # At least once: every contact alive at the end, and changed ones may come twice.
            assert set(revs) >= set(final)
            assert len(records) > len(revs)
            again = {cid for cid, seen in revs.items() if len(seen) > 1}
            assert again <= set(last_change)


# -- 4. a hung list request -------------------------------------------------------------------


@pytest.fixture
async def hm_fake() -> AsyncIterator[tuple[FakeHeymarket, HeymarketClient]]:
    # A hung attempt is cut off after 50 ms and retried at once.
    retry = RetryPolicy(read_attempt_timeout=0.05, backoff_base=0.0)
    async with FakeHeymarket() as fake, fake.client(retry=retry) as hm:
        yield fake, hm


def assert_hung_and_retried(fake: FakeHeymarket, route: str, number: int) -> None:
    recorded = fake.requests_to(route)
    hung = recorded[number - 1]
    assert (hung.number, hung.status, hung.fault) == (number, None, Fault.hang())
    assert len(recorded) > number, "the walk went on"
    assert all(r.status == 200 for r in recorded if r is not hung)


class TestHungListRequest:
    async def test_v2_keyset_walk_with_three_slices(
        self, hm_fake: tuple[FakeHeymarket, HeymarketClient]
    ) -> None:
        fake, hm = hm_fake
        fake.seed(1500)
        fake.faults.add(V2_LIST, Fault.hang(), on=[3])
        assert_exactly_once(await ids_of(hm.v2.iter_contacts(slices=3)), set(fake.contacts))
        assert_hung_and_retried(fake, V2_LIST, 3)

    @pytest.mark.parametrize("number", [1, 5, 9])
    async def test_v2_keyset_walk_with_three_slices_any_request(
        self, hm_fake: tuple[FakeHeymarket, HeymarketClient], number: int
    ) -> None:
        fake, hm = hm_fake
        fake.seed(1500)
        fake.faults.add(V2_LIST, Fault.hang(), on=[number])
        assert_exactly_once(await ids_of(hm.v2.iter_contacts(slices=3)), set(fake.contacts))
        assert_hung_and_retried(fake, V2_LIST, number)

    async def test_v1_walk(self, hm_fake: tuple[FakeHeymarket, HeymarketClient]) -> None:
        fake, hm = hm_fake
        fake.seed(300)
        fake.faults.add(V1_LIST, Fault.hang(), on=[3])
        assert_exactly_once(await ids_of(hm.iter_contacts()), set(fake.contacts))
        assert_hung_and_retried(fake, V1_LIST, 3)

    async def test_v1_walk_reading_a_tie_group_through_v2(
        self, hm_fake: tuple[FakeHeymarket, HeymarketClient]
    ) -> None:
        # Groups of 250 are read through the v2 list; its third request hangs.
        fake, hm = hm_fake
        fake.seed(600, tie_group_size=[1, 250, 1])
        fake.faults.add(V2_LIST, Fault.hang(), on=[3])
        assert_exactly_once(await ids_of(hm.iter_contacts()), set(fake.contacts))
        assert_hung_and_retried(fake, V2_LIST, 3)

    async def test_v2_keyset_walk_under_churn(
        self, hm_fake: tuple[FakeHeymarket, HeymarketClient]
    ) -> None:
        # A hung request is churned before too: the walk still loses no untouched contact.
        fake, hm = hm_fake
        fake.seed(2000)
        fake.churn(updates=3, seed=2)
        fake.faults.add(V2_LIST, Fault.hang(), on=[3])
        got = await ids_of(hm.v2.iter_contacts(slices=3))
        touched = {c.id for c in fake.changes}
        untouched = set(range(1, 2001)) - touched
        counts = Counter(got)
        assert all(counts[cid] == 1 for cid in untouched)
        assert set(got) == set(fake.contacts)
        assert_hung_and_retried(fake, V2_LIST, 3)
