"""``RetryPolicy``'s arguments: a bad ``retry_statuses`` is an InvalidRequestError naming it,
never a bare ``TypeError`` or a hang (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from heymarket_async import InvalidRequestError, RetryPolicy


def _endless() -> Iterator[int]:
    """Endless as far as RetryPolicy can tell; fails the test rather than hanging."""
    for _ in range(100_000):
        yield 503
    raise AssertionError("read 100,000 statuses")


class TestRetryStatuses:
    @pytest.mark.parametrize(
        "bad",
        [
            None,
            500,
            "500",
            b"500",
            [500.0],
            [True],
            ["503"],
            [99],
            [600],
            {503: "x"},
            "endless",
        ],
    )
    def test_a_bad_value_is_refused_naming_the_argument(self, bad: object) -> None:
        if bad == "endless":
            bad = _endless()
        with pytest.raises(InvalidRequestError) as info:
            RetryPolicy(retry_statuses=bad)  # type: ignore[arg-type]
        assert info.value.field == "retry_statuses"

    @pytest.mark.parametrize("given", [[503], {503}, (503, 503), frozenset({503}), iter([503])])
    def test_any_finite_iterable_of_statuses_is_taken(self, given: object) -> None:
        assert RetryPolicy(retry_statuses=given).retry_statuses == frozenset({503})  # type: ignore[arg-type]

    def test_none_may_be_retried_on_a_status(self) -> None:
        assert RetryPolicy(retry_statuses=()).retry_statuses == frozenset()
