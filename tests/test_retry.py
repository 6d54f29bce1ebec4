"""The retry rules as pure functions: what is retried per operation, the backoff, the policy."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heymarket_async import (
    UNSET,
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)
from heymarket_async._retry import RETRYABLE_STATUSES, backoff_delay, is_retryable, plan_retry
from heymarket_async._sansio import Safety
from heymarket_async.errors import APIError, HeymarketError

URL = "https://api.heymarket.com/v1/contacts"


def status_error(status: int, retry_after: float | None = None) -> APIError:
    if status == 429:
        return RateLimitError(status=429, method="POST", url=URL, retry_after=retry_after)
    cls = ServerError if status >= 500 else APIError
    return cls(status=status, method="POST", url=URL)


def dropped(maybe_applied: bool = True) -> APIConnectionError:
    return APIConnectionError("dropped", method="POST", url=URL, maybe_applied=maybe_applied)


def timed_out(maybe_applied: bool = True) -> APITimeoutError:
    return APITimeoutError("timed out", method="POST", url=URL, maybe_applied=maybe_applied)


def garbled() -> InvalidResponseError:
    return InvalidResponseError("not JSON", status=200, method="POST", url=URL)


POLICY = RetryPolicy()
SAFE = (Safety.READ, Safety.IDEMPOTENT)


class TestReadsAndIdempotentWrites:
    @pytest.mark.parametrize("safety", SAFE)
    @pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
    def test_retry_the_issues_statuses(self, safety: Safety, status: int) -> None:
        assert is_retryable(status_error(status), safety, POLICY)

    @pytest.mark.parametrize("safety", SAFE)
    @pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501, 505])
    def test_do_not_retry_other_statuses(self, safety: Safety, status: int) -> None:
        assert not is_retryable(status_error(status), safety, POLICY)

    @pytest.mark.parametrize("safety", SAFE)
    @pytest.mark.parametrize(
        "error", [dropped(), dropped(False), timed_out(), timed_out(False), garbled()]
    )
    def test_retry_every_transport_failure_and_garbled_body(
        self, safety: Safety, error: HeymarketError
    ) -> None:
        assert is_retryable(error, safety, POLICY)


class TestCreates:
    def test_retry_a_429(self) -> None:
        assert is_retryable(status_error(429), Safety.ONCE, POLICY)

    def test_retry_a_failed_connect(self) -> None:
        assert is_retryable(dropped(maybe_applied=False), Safety.ONCE, POLICY)
        assert is_retryable(timed_out(maybe_applied=False), Safety.ONCE, POLICY)

    @pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
    def test_never_retry_a_status_that_may_follow_a_write(self, status: int) -> None:
        assert not is_retryable(status_error(status), Safety.ONCE, POLICY)

    @pytest.mark.parametrize("error", [dropped(), timed_out(), garbled()])
    def test_never_retry_after_the_request_may_have_arrived(self, error: HeymarketError) -> None:
        assert not is_retryable(error, Safety.ONCE, POLICY)


class TestPlanRetry:
    def test_retries_until_max_retries_then_gives_up_with_a_note(self) -> None:
        policy = RetryPolicy(max_retries=2)
        rng = random.Random(1)
        assert plan_retry(status_error(503), Safety.READ, policy, 1, rng)[0] is not None
        assert plan_retry(status_error(503), Safety.READ, policy, 2, rng)[0] is not None
        wait, why = plan_retry(status_error(503), Safety.READ, policy, 3, rng)
        assert wait is None
        assert why == "gave up after 3 attempts (max_retries=2)"

    def test_disabled_policy_never_retries_and_adds_no_note(self) -> None:
        assert plan_retry(status_error(503), Safety.READ, RetryPolicy.disabled(), 1) == (
            None,
            None,
        )

    def test_not_retryable_error_has_no_note(self) -> None:
        not_found = NotFoundError(status=404, method="GET", url=URL)
        assert plan_retry(not_found, Safety.READ, POLICY, 1) == (None, None)

    @pytest.mark.parametrize("retry_after", [0.0, 2.5, 60.0])
    def test_retry_after_is_waited_exactly_up_to_the_ceiling(self, retry_after: float) -> None:
        wait, why = plan_retry(status_error(429, retry_after), Safety.READ, POLICY, 1)
        assert (wait, why) == (retry_after, None)

    def test_retry_after_beyond_the_ceiling_raises_at_once(self) -> None:
        policy = RetryPolicy(max_retry_after=10)
        wait, why = plan_retry(status_error(429, 10.5), Safety.ONCE, policy, 1)
        assert wait is None
        assert why is not None
        assert "Retry-After of 10.5 s" in why
        assert "max_retry_after (10 s)" in why

    def test_429_without_retry_after_backs_off(self) -> None:
        policy = RetryPolicy(backoff_base=1, backoff_max=1)
        waits = {plan_retry(status_error(429), Safety.READ, policy, 1)[0] for _ in range(20)}
        assert all(w is not None and 0 <= w <= 1 for w in waits)
        assert len(waits) > 1  # jittered

    def test_create_not_retried_on_500_even_with_retries_left(self) -> None:
        assert plan_retry(status_error(500), Safety.ONCE, POLICY, 1) == (None, None)


class TestBackoff:
    @given(retry=st.integers(0, 2000), seed=st.integers(0, 2**32))
    def test_full_jitter_under_the_capped_exponential(self, retry: int, seed: int) -> None:
        policy = RetryPolicy(backoff_base=0.5, backoff_max=8)
        delay = backoff_delay(retry, policy, random.Random(seed))
        assert 0 <= delay <= min(8, 0.5 * 2.0 ** min(retry, 64))

    def test_ceiling_doubles_until_the_cap(self) -> None:
        policy = RetryPolicy(backoff_base=0.5, backoff_max=8)

        class Top(random.Random):
            def uniform(self, a: float, b: float) -> float:
                return b

        ceilings = [backoff_delay(n, policy, Top()) for n in range(7)]
        assert ceilings == [0.5, 1, 2, 4, 8, 8, 8]

    def test_zero_base_means_no_wait(self) -> None:
        assert backoff_delay(3, RetryPolicy(backoff_base=0)) == 0


class TestRetryPolicy:
    def test_defaults(self) -> None:
        policy = RetryPolicy()
        assert policy.max_retries == 3
        assert policy.backoff_base == 0.5
        assert policy.backoff_max == 8.0
        assert policy.max_retry_after == 60.0
        assert policy.attempt_timeout is UNSET
        assert policy.read_attempt_timeout == 10.0
        assert policy.retry_statuses == RETRYABLE_STATUSES == {408, 429, 500, 502, 503, 504}

    def test_disabled(self) -> None:
        assert RetryPolicy.disabled().max_retries == 0

    def test_retry_statuses_accepts_any_iterable(self) -> None:
        assert RetryPolicy(retry_statuses=[503]).retry_statuses == frozenset({503})
        assert not is_retryable(status_error(500), Safety.READ, RetryPolicy(retry_statuses={503}))

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"max_retries": -1},
            {"max_retries": 1.5},
            {"max_retries": True},
            {"backoff_base": -0.1},
            {"backoff_max": float("nan")},
            {"max_retry_after": -1},
            {"attempt_timeout": 0},
            {"attempt_timeout": -2},
            {"attempt_timeout": "5"},
            # aiohttp cannot arm a timer for an infinite timeout (OverflowError on every call).
            {"attempt_timeout": float("inf")},
            {"attempt_timeout": float("nan")},
            {"attempt_timeout": 10**400},
            # An infinite backoff would wait forever.
            {"backoff_base": float("inf")},
            {"backoff_max": float("inf")},
        ],
    )
    def test_rejects_nonsense(self, kwargs: dict[str, object]) -> None:
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            RetryPolicy(**kwargs)  # type: ignore[arg-type]

    def test_frozen(self) -> None:
        policy = RetryPolicy()
        with pytest.raises(AttributeError):
            policy.max_retries = 5  # type: ignore[misc]


def test_bad_request_is_never_retried() -> None:
    error = BadRequestError(status=400, method="POST", url=URL)
    for safety in Safety:
        assert not is_retryable(error, safety, POLICY)
