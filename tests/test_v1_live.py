"""The v1 walk against a server that is honest but awkward: it renders ``updated`` in
milliseconds and compares the cursor in microseconds, and its order among contacts of one time
may change from one request to the next (an SQL ``ORDER BY updated`` without a tie-breaker).

The model server below holds each contact's true time in microseconds and the text it renders;
the v1 list answers in one of the four modes (newest- or oldest-first, inclusive or exclusive
``date``), comparing at microseconds; the v2 list answers ``date``/``limit``/``page``/
``ascending``. Both count requests, so that the tests can bound what a walk costs.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from heymarket_async import PaginationError, TagPager, V1ContactPager
from heymarket_async._sansio import parse_timestamp
from tests._paging import assert_exactly_once

BASE = datetime(2026, 5, 7, 12, 0, 0, tzinfo=timezone.utc)
MODES = [
    pytest.param(desc, incl, id=f"{'newest' if desc else 'oldest'}-{'incl' if incl else 'excl'}")
    for desc in (True, False)
    for incl in (True, False)
]
#: How the server orders contacts of one true time: by id, by id but reversed on every other
#: request, or shuffled anew for each request.
TIE_ORDERS = ["stable", "reversed", "shuffled"]


@functools.lru_cache(maxsize=1 << 16)  # hypothesis walks render the same times thousands of times
def render(us: int) -> str:
    """The text a server that keeps microseconds but writes milliseconds sends."""
    at = BASE + timedelta(microseconds=us)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def micros(text: str) -> int:
    return (parse_timestamp(text) - BASE) // timedelta(microseconds=1)


class Server:
    """``POST /v1/contacts`` and ``POST /v2/contacts/list`` over a static store of
    ``(id, true time in µs)``."""

    def __init__(
        self,
        times: list[int],
        *,
        descending: bool = False,
        inclusive: bool = False,
        tie_order: str = "stable",
        seed: int = 0,
    ) -> None:
        self.store = [(i + 1, us) for i, us in enumerate(times)]
        self.descending = descending
        self.inclusive = inclusive
        self.tie_order = tie_order
        self.random = random.Random(seed)
        self.requests: list[dict[str, Any]] = []
        self._sorted: dict[bool, list[tuple[int, int]]] = {}

    @property
    def ids(self) -> set[int]:
        return {i for i, _ in self.store}

    def _ordered(self, descending: bool) -> list[tuple[int, int]]:
        n = len(self.requests)
        if self.tie_order == "shuffled":
            salt = {i: self.random.random() for i, _ in self.store}
            rows = sorted(self.store, key=lambda r: (r[1], salt[r[0]]))
        else:
            flip = self.tie_order == "reversed" and n % 2 == 1
            rows = self._sorted.get(flip)  # the store never changes: each order is sorted once
            if rows is None:
                key = (lambda r: (r[1], -r[0])) if flip else (lambda r: (r[1], r[0]))
                rows = self._sorted[flip] = sorted(self.store, key=key)
        return rows[::-1] if descending else rows

    @staticmethod
    def _out(rows: list[tuple[int, int]]) -> list[dict[str, Any]]:
        return [{"id": i, "updated": render(us), "first": f"c{i}"} for i, us in rows]

    def v1(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self._ordered(self.descending)
        if "date" in body:
            cut = micros(body["date"])
            if self.descending:
                rows = [r for r in rows if r[1] < cut or (self.inclusive and r[1] == cut)]
            else:
                rows = [r for r in rows if r[1] > cut or (self.inclusive and r[1] == cut)]
        return self._out(rows[:30])

    def v2(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self._ordered(not body.get("ascending", False))
        if "date" in body:
            cut = micros(body["date"])
            rows = [r for r in rows if r[1] > cut]
        limit = body.get("limit", 30)
        start = body.get("page", 0) * limit
        return self._out(rows[start : start + limit])

    async def list_v1(self, body: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
        data = self.v1(body)  # ordered before the request is counted: the parity is its own
        self.requests.append({"path": "v1", **body})
        return parse(data)

    async def list_v2(self, body: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
        data = self.v2(body)
        self.requests.append({"path": "v2", **body})
        return parse(data)

    def pager(self, **kwargs: Any) -> V1ContactPager:
        return V1ContactPager(self.list_v1, self.list_v2, **kwargs)


async def walk(pager: V1ContactPager, into: list[int] | None = None) -> list[int]:
    got = [] if into is None else into
    async for c in pager:
        got.append(c.id)  # type: ignore[arg-type]
    return got


def at_ms(*groups: tuple[int, int, int]) -> list[int]:
    """True times: for each ``(ms, exact, later)``, ``exact`` contacts at exactly that
    millisecond and ``later`` ones spread over the microseconds after it (same text)."""
    times: list[int] = []
    for ms, exact, later in groups:
        times += [ms * 1000] * exact
        times += [ms * 1000 + 1 + k * 997 // max(later, 1) for k in range(later)]
    return times


# A few contacts at an exact millisecond (which a µs-comparing server counts as the cursor's own
# time) next to others rendered at that millisecond but later in truth, around page boundaries.
PATTERN = at_ms(
    (0, 1, 4), (1, 2, 10), (2, 0, 20), (3, 3, 3), (4, 1, 25), (5, 4, 12), (6, 1, 0),
    (7, 0, 1), (8, 2, 27), (9, 1, 40), (10, 3, 7), (11, 1, 1), (12, 0, 29), (13, 2, 2),
)  # fmt: skip


#: Found by hypothesis: the list ends with a page whose last millisecond (.004, three contacts at
#: exactly its start) the walk checks; an exclusive µs server answers it with nothing, twice
#: (before and after the fallback to .003), before the walk reads the group through v2.
#: (= at_ms((0, 0, 1), (1, 0, 30), (2, 1, 0), (3, 0, 27), (4, 3, 0)), as hypothesis wrote it.)
LIST_ENDS_AT_A_CHECKED_CURSOR = [
    1, 1001, 1034, 1067, 1100, 1133, 1167, 1200, 1233, 1266, 1300, 1333, 1366, 1399, 1433, 1466,
    1499, 1532, 1565, 1599, 1632, 1665, 1698, 1732, 1765, 1798, 1831, 1865, 1898, 1931, 1964, 2000,
    3001, 3037, 3074, 3111, 3148, 3185, 3222, 3259, 3296, 3333, 3370, 3407, 3444, 3481, 3517, 3554,
    3591, 3628, 3665, 3702, 3739, 3776, 3813, 3850, 3887, 3924, 3961, 4000, 4000, 4000,
]  # fmt: skip
#: The same end, found by a longer search over other group shapes: after groups larger than a
#: page, and with the last group itself larger than one (its five past the page come via v2).
ENDS_AT_A_CHECKED_CURSOR = {
    "hypothesis": LIST_ENDS_AT_A_CHECKED_CURSOR,
    "after-big-groups": at_ms(
        (0, 3, 0), (1, 0, 24), (2, 0, 8), (3, 2, 15), (4, 0, 69), (5, 0, 69), (6, 1, 0),
        (7, 0, 17), (8, 14, 0),
    ),
    "last-group-larger-than-a-page": at_ms(
        (0, 0, 5), (1, 0, 8), (2, 18, 0), (3, 2, 2), (4, 1, 64), (5, 2, 0), (6, 0, 2), (7, 33, 0)
    ),
}  # fmt: skip


@st.composite
def ms_groups(draw: st.DrawFn) -> list[int]:
    """Random groups of contacts sharing a millisecond, some at its exact start; mostly below a
    page, some larger (read through v2)."""
    sizes = st.integers(0, 3), st.integers(0, 33) | st.integers(30, 70)
    groups = draw(st.lists(st.tuples(*sizes), max_size=14))
    return at_ms(*[(ms, exact, later) for ms, (exact, later) in enumerate(groups)])


class TestMillisecondTextMicrosecondCursor:
    """Each contact exactly once in all four modes, whatever the server compares at."""

    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    async def test_every_contact_once(self, descending: bool, inclusive: bool) -> None:
        server = Server(PATTERN, descending=descending, inclusive=inclusive)
        assert_exactly_once(await walk(server.pager()), server.ids)

    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    async def test_one_exact_millisecond_does_not_make_the_cursor_inclusive(
        self, descending: bool, inclusive: bool
    ) -> None:
        # The second page starts at the cursor's own text (a µs-comparing server sends what is
        # later in truth, or exactly at it): the walk must not take that as proof that it may
        # send a page's last time, since the page ends in the middle of a millisecond's group.
        if descending:
            times = [k * 1000 + 500 for k in range(100, 72, -1)] + [72_000, 71_500]
            times += [k * 1000 + 500 for k in range(70, 43, -1)] + [43_900, 43_800, 43_700]
        else:
            times = [k * 1000 + 500 for k in range(29)] + [57_000] * 0
            times += [k * 1000 + 500 for k in range(29, 57)] + [57_000] * 3 + [60_000, 61_000]
        server = Server(times, descending=descending, inclusive=inclusive)
        assert_exactly_once(await walk(server.pager()), server.ids)

    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    @pytest.mark.parametrize("name", list(ENDS_AT_A_CHECKED_CURSOR))
    async def test_a_list_that_ends_at_a_checked_cursor(
        self, descending: bool, inclusive: bool, name: str
    ) -> None:
        # Oldest-first exclusive: a cursor answered from its own text makes the server look
        # inclusive, so the last page (.003 x 27, .004 x 3 in the first list) sends its last
        # time checked. Nothing comes after it (those are at exactly .004000), nor after the
        # fallback's page (.003), which ends there again: two answers to a checked cursor that
        # are set aside, not pages that fail to advance. The group is read through v2.
        times = ENDS_AT_A_CHECKED_CURSOR[name]
        server = Server(times, descending=descending, inclusive=inclusive)
        assert_exactly_once(await walk(server.pager()), server.ids)

    @settings(max_examples=150, deadline=None)
    @given(times=ms_groups(), descending=st.booleans(), inclusive=st.booleans())
    @example(times=LIST_ENDS_AT_A_CHECKED_CURSOR, descending=False, inclusive=False)
    @example(times=ENDS_AT_A_CHECKED_CURSOR["after-big-groups"], descending=False, inclusive=False)
    async def test_random_groups(self, times: list[int], descending: bool, inclusive: bool) -> None:
        server = Server(times, descending=descending, inclusive=inclusive)
        assert_exactly_once(await walk(server.pager()), server.ids)

    @settings(max_examples=80, deadline=None)
    @given(
        times=ms_groups(),
        descending=st.booleans(),
        inclusive=st.booleans(),
        cut=st.integers(-1, 14),
    )
    async def test_since(
        self, times: list[int], descending: bool, inclusive: bool, cut: int
    ) -> None:
        server = Server(times, descending=descending, inclusive=inclusive)
        since = render(cut * 1000)  # a millisecond's text: exactly then is not after it
        got = await walk(server.pager(since=since))
        assert_exactly_once(got, {i for i, us in server.store if us // 1000 > cut})

    @settings(max_examples=80, deadline=None)
    @given(
        times=ms_groups(),
        descending=st.booleans(),
        inclusive=st.booleans(),
        stops=st.lists(st.integers(0, 70), max_size=6),
    )
    async def test_resume_anywhere(
        self, times: list[int], descending: bool, inclusive: bool, stops: list[int]
    ) -> None:
        server = Server(times, descending=descending, inclusive=inclusive)
        got: list[int] = []
        position: str | None = None
        for stop in [*stops, None]:
            pager = server.pager(max_items=stop, resume=position)
            await walk(pager, got)
            position = pager.position.to_json()
        assert_exactly_once(got, server.ids)


def big_group(before: int, group: int, after: int, descending: bool) -> list[int]:
    """``group`` contacts at one microsecond between others 1.5 s apart (so that the second
    before the group, where its v2 read starts, holds only the group), the group early in the
    walk's order."""
    times = [k * 1_500_000 + 500 for k in range(before)] + [before * 1_500_000 + 200] * group
    times += [k * 1_500_000 + 500 for k in range(before + 1, before + 1 + after)]
    return [-t for t in times] if descending else times


class TestTieGroupInAnUnstableOrder:
    """A group larger than a page, read through v2 by offset: exactly once or an error."""

    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    @pytest.mark.parametrize("group", [40, 100, 101, 250])
    async def test_a_stable_order_reads_the_group_exactly_once(
        self, descending: bool, inclusive: bool, group: int
    ) -> None:
        server = Server(big_group(5, group, 40, descending), descending=descending)
        server.inclusive = inclusive
        assert_exactly_once(await walk(server.pager()), server.ids)
        # Each pass over the group costs its pages; two passes when it spans pages. A server
        # that answers the group's time with the group again costs a read of the next one.
        v2 = [r for r in server.requests if r["path"] == "v2" and r.get("limit") == 100]
        pages = group // 100 + 1
        assert len(v2) <= (1 if pages == 1 else 2 * pages) + 1

    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    @pytest.mark.parametrize("order", ["reversed", "shuffled"])
    @pytest.mark.parametrize("group", [150, 250])
    async def test_an_unstable_order_raises_naming_the_time(
        self, descending: bool, inclusive: bool, order: str, group: int
    ) -> None:
        times = big_group(5, group, 40, descending)
        server = Server(times, descending=descending, inclusive=inclusive, tie_order=order)
        got: list[int] = []
        with pytest.raises(PaginationError, match="does not hold still") as info:
            await walk(server.pager(), got)
        tied = render(times[5])
        assert info.value.cursor == tied
        assert tied in str(info.value)
        assert len(got) == len(set(got))  # never a duplicate, even before the error
        assert len(server.requests) <= 25

    @settings(max_examples=60, deadline=None)
    @given(
        groups=st.lists(st.integers(1, 29) | st.integers(30, 230), min_size=1, max_size=8),
        descending=st.booleans(),
        inclusive=st.booleans(),
        order=st.sampled_from(TIE_ORDERS),
        seed=st.integers(0, 2**16),
    )
    async def test_exactly_once_or_an_error_never_a_gap(
        self, groups: list[int], descending: bool, inclusive: bool, order: str, seed: int
    ) -> None:
        times = [ms * 1000 + 300 for ms, size in enumerate(groups) for _ in range(size)]
        if descending:
            times = [-t for t in times]
        server = Server(
            times, descending=descending, inclusive=inclusive, tie_order=order, seed=seed
        )
        got: list[int] = []
        try:
            await walk(server.pager(), got)
        except PaginationError:
            assert len(got) == len(set(got))
            assert order != "stable"
        else:
            assert_exactly_once(got, server.ids)
        # Bounded: a few requests per page of contacts, and a few passes per group.
        assert len(server.requests) <= 20 + 3 * (len(times) // 30 + 8 * len(groups))

    @pytest.mark.parametrize("order", ["reversed", "shuffled"])
    async def test_a_group_that_fits_one_v2_page_needs_no_stable_order(self, order: str) -> None:
        server = Server(big_group(5, 90, 40, False), tie_order=order, seed=3)
        assert_exactly_once(await walk(server.pager()), server.ids)

    @pytest.mark.parametrize("crash_after", [10, 35, 120, 200, 260])
    async def test_resume_in_the_middle_of_the_read(self, crash_after: int) -> None:
        server = Server(big_group(5, 250, 40, False))
        first = server.pager(max_items=crash_after)
        got = await walk(first)
        await walk(server.pager(resume=first.position.to_json()), got)
        assert_exactly_once(got, server.ids)


class TestRequestCap:
    """A server that keeps answering with what was handed out stops the walk with an error,
    within a bounded number of requests."""

    async def test_v1_the_same_30_contacts_at_ever_later_times(self) -> None:
        # In order, past every cursor, so each page looks like contacts changed meanwhile.
        sent: list[dict[str, Any]] = []

        async def list_v1(body: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
            sent.append(body)
            start = micros(body["date"]) + 1000 if "date" in body else 0
            return parse([{"id": i, "updated": render(start + i * 1000)} for i in range(30)])

        got: list[int] = []
        with pytest.raises(PaginationError, match="requests") as info:
            await walk(V1ContactPager(list_v1, list_v1), got)
        assert info.value.cursor is not None  # the cursor it would have sent next
        assert len(sent) <= 20 + 3 * 1 + 1

    @pytest.mark.parametrize("pattern", ["alternate", "same"])
    async def test_v1_pages_of_what_was_seen(self, pattern: str) -> None:
        pages = [
            [{"id": i, "updated": render(i * 1000)} for i in range(a, a + 30)] for a in (0, 30)
        ]
        sent: list[dict[str, Any]] = []

        async def list_v1(body: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
            sent.append(body)
            return parse(pages[len(sent) % 2] if pattern == "alternate" else pages[0])

        got: list[int] = []
        with pytest.raises(PaginationError):
            await walk(V1ContactPager(list_v1, list_v1), got)
        assert len(got) == len(set(got))
        assert len(sent) <= 20 + 3 * 2

    async def test_v2_tie_read_of_the_same_100_forever(self) -> None:
        tied = render(5000)
        v2_sent: list[dict[str, Any]] = []

        async def list_v1(body: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
            return parse([{"id": i, "updated": tied} for i in range(30)])

        async def list_v2(body: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
            v2_sent.append(body)
            if body.get("limit") == 1:
                return parse([{"id": 0, "updated": tied}])
            return parse([{"id": i, "updated": tied} for i in range(100)])

        got: list[int] = []
        with pytest.raises(PaginationError) as info:
            await walk(V1ContactPager(list_v1, list_v2), got)
        assert info.value.cursor == tied
        assert sorted(got) == list(range(100))
        assert len(v2_sent) <= 20 + 3 * (100 / 30)

    async def test_tags_one_new_tag_a_page(self) -> None:
        sent: list[dict[str, Any]] = []

        async def list_tags(body: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
            sent.append(body)
            k = len(sent)  # the same 29 tags, and one more each time, at later times
            tags = [{"id": i, "name": f"t{i}", "updated": render(k * 10**6 + i)} for i in range(29)]
            return parse([*tags, {"id": 100 + k, "name": "new", "updated": render(k * 10**6 + 99)}])

        with pytest.raises(PaginationError, match="requests"):
            [t async for t in TagPager(list_tags)]
        assert len(sent) <= 20 + 3 * (29 + len(sent)) / 30 + 1
