"""When a failed attempt may be sent again, and how long to wait first.

Decided per operation, not per HTTP method: Heymarket's reads are POSTs, and its creates are
POSTs that must never be repeated unless the first attempt provably never reached the server.
The same split decides how long one attempt may take (:func:`attempt_timeout_for`).
Everything here is pure (the random source is a parameter), so it is tested without a loop.
"""

from __future__ import annotations

import itertools
import random
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from ._sansio import Safety
from .errors import (
    APIError,
    HeymarketError,
    InvalidRequestError,
    InvalidResponseError,
    RateLimitError,
    TransportError,
)
from .models import UNSET, UnsetType

__all__ = [
    "READ_ATTEMPT_TIMEOUT",
    "RETRYABLE_STATUSES",
    "RetryPolicy",
    "attempt_timeout_for",
    "backoff_delay",
    "create_safety",
    "is_retryable",
    "may_have_written",
    "plan_retry",
]

#: Statuses that say "try again later" for a read or an idempotent write.
RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})

#: The default timeout of one attempt of a read or an idempotent write, in seconds: a third of
#: the client's default 30 s deadline, so that a hung read is cut off and retried at least twice
#: before it, and ample for a page that is slow but moving (a v2 page of 100 contacts is some
#: 50-200 KB of JSON, 55 KB in the emulator: under 2 s at 1 Mbit/s, under 7 s at 256 kbit/s).
READ_ATTEMPT_TIMEOUT: Final = 10.0


#: The longest timeout: the largest float (``math.inf``, or an int beyond it, cannot be a timer).
_MAX_SECONDS: Final = sys.float_info.max


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InvalidRequestError(attribute.name, f"must be >= 0 (seconds), got {value!r}")


def _finite_non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    # A backoff of math.inf would wait forever (or, with a timeout, never retry at all).
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e9:
        raise InvalidRequestError(
            attribute.name, f"must be a finite number of seconds >= 0, got {value!r}"
        )


def _positive_or_none(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    # Finite: aiohttp cannot arm a timer for math.inf, nor for an int past the largest float
    # (every call would raise OverflowError).
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value <= _MAX_SECONDS
    ):
        raise InvalidRequestError(
            attribute.name, f"must be a finite number of seconds > 0 or None, got {value!r}"
        )


def _seconds_none_or_unset(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if value is not UNSET:
        _positive_or_none(instance, attribute, value)


#: The most items read from ``retry_statuses``: there are 500 HTTP statuses, so more than this
#: is a mistake or an endless iterable (read no further).
_MAX_STATUSES: Final = 1000


def _retry_statuses(value: Iterable[int]) -> frozenset[int]:
    """``retry_statuses`` as a frozenset of HTTP statuses (ints 100-599), from any iterable."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidRequestError(
            "retry_statuses",
            f"must be a set of HTTP statuses such as {{503}}, not {type(value).__name__}",
        )
    statuses = list(itertools.islice(value, _MAX_STATUSES + 1))
    if len(statuses) > _MAX_STATUSES:
        raise InvalidRequestError(
            "retry_statuses", f"more than {_MAX_STATUSES:,} statuses (or an endless iterable)"
        )
    for status in statuses:
        if isinstance(status, bool) or not isinstance(status, int):
            raise InvalidRequestError(
                "retry_statuses", f"holds a {type(status).__name__}: a status is an int"
            )
        if not 100 <= status <= 599:
            raise InvalidRequestError(
                "retry_statuses", f"holds {status}: an HTTP status is from 100 to 599"
            )
    return frozenset(statuses)


def _max_retries(_: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequestError("max_retries", f"must be an int >= 0, got {value!r}")


def _bool(_: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidRequestError(attribute.name, f"must be True or False, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a call is retried. Give one to ``HeymarketClient(retry=...)`` or ``with_options``.

    - ``max_retries``: attempts after the first (0 turns retries off, as does
      :meth:`disabled`).
    - ``backoff_base`` / ``backoff_max``: exponential backoff with full jitter: the n-th retry
      (from 0) waits a random time in ``[0, min(backoff_max, backoff_base * 2**n)]`` seconds.
    - ``max_retry_after``: a 429's ``Retry-After`` (seconds or an HTTP date) is waited for
      exactly, up to this many seconds; a longer one is not waited for: the
      :class:`RateLimitError` is raised at once, with ``retry_after`` set.
    - ``read_attempt_timeout``: seconds one attempt of a read or an idempotent write may take
      (default 10), so that one that hangs is cut off and retried like a dropped connection.
      The client's ``timeout`` is the deadline of the whole call, every attempt and every wait
      included, so ``timeout=30`` never becomes 90 s; this caps each attempt lower, leaving
      time to retry one that hangs (with the default 30 s, at least twice). No attempt runs past
      the deadline: with ``timeout=5`` an attempt gets at most 5 s. Why 10 s: far above what a
      healthy answer takes (a v2 page of 100 contacts, 50-200 KB, comes in under 7 s even at
      256 kbit/s) and far below the deadline. It applies only where a retry can follow a cut:
      the last attempt that ``max_retries`` allows (with :meth:`disabled`, the only one) has
      the rest of the deadline, and so do creates and the other writes never sent twice: one
      cut off after it was sent cannot be retried, so cutting it short would only turn a slow
      success into an error saying the write may have been applied.
    - ``attempt_timeout``: when given, the timeout of every attempt, creates included, instead
      of ``read_attempt_timeout``; ``None`` turns per-attempt timeouts off for every request
      (only the client's ``timeout`` applies). A create that it cuts off after sending is still
      never sent again: it raises :class:`APITimeoutError` saying the write may have been
      applied (one cut off while connecting is retried).
    - ``retry_statuses``: the statuses retried for reads (``GET`` and Heymarket's POST reads)
      and idempotent writes (``PUT``, ``DELETE``), as are dropped connections, timeouts and
      bodies cut short. Creates (``POST /v1/contact``, ``POST /v2/contact``, adding a channel)
      are retried only on 429 and when the connection could not be made: a 5xx, a timeout or a
      dropped connection after sending raises, saying the write may have been applied.
    - ``retry_creates_with_local_id``: a create that carries a ``local_id`` (``create_contact``,
      ``v2.create_contact``, and a batch of ``batch_create_contacts`` or ``v2.upsert_contacts``
      whose every item has one) is retried like an idempotent write, ``read_attempt_timeout``
      included: Heymarket's docs say a ``local_id`` "makes create-or-update operations
      idempotent", so a repeat updates the contact the first attempt made. ``False`` keeps the
      rule of every other create: never sent again once it may have been applied.

    All times are float seconds. The defaults: 3 retries, 0.5 s base, 8 s cap, 60 s ceiling
    for ``Retry-After``, 10 s for an attempt of a read or an idempotent write that may be
    retried, no per-attempt limit for a create.
    """

    max_retries: int = attrs.field(default=3, validator=_max_retries)
    backoff_base: float = attrs.field(default=0.5, validator=_finite_non_negative)
    backoff_max: float = attrs.field(default=8.0, validator=_finite_non_negative)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    #: ``UNSET`` (not given): ``read_attempt_timeout`` for reads and idempotent writes, none
    #: for ``ONCE`` writes. See :func:`attempt_timeout_for`.
    attempt_timeout: float | None | UnsetType = attrs.field(
        default=UNSET, validator=_seconds_none_or_unset
    )
    read_attempt_timeout: float | None = attrs.field(
        default=READ_ATTEMPT_TIMEOUT, validator=_positive_or_none
    )
    retry_statuses: frozenset[int] = attrs.field(
        default=RETRYABLE_STATUSES, converter=_retry_statuses
    )
    retry_creates_with_local_id: bool = attrs.field(default=True, validator=_bool)

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_retries=0)


def create_safety(bodies: Sequence[Mapping[str, Any]], policy: RetryPolicy) -> Safety | None:
    """The safety of a create request holding ``bodies`` (one, or a batch's items):
    ``IDEMPOTENT`` when each carries a ``local_id`` and the policy lets such creates be retried,
    else ``None`` (the endpoint's own, ``ONCE``). One item without it makes a batch ``ONCE``:
    its repeat would create that contact twice."""
    keyed = bool(bodies) and all("local_id" in body for body in bodies)
    if keyed and policy.retry_creates_with_local_id:
        return Safety.IDEMPOTENT
    return None


def attempt_timeout_for(safety: Safety, policy: RetryPolicy, attempt: int) -> float | None:
    """The seconds attempt number ``attempt`` (from 1) of a request of ``safety`` may take
    (``None``: no limit of its own), before the call's deadline caps it.

    ``read_attempt_timeout`` is for an attempt that a retry may follow: not one of a ``ONCE``
    write (cut off after sending, it is not sent again), nor the last one ``max_retries``
    allows (cut short, it could only fail). A given ``attempt_timeout`` is for every attempt.
    """
    if not isinstance(policy.attempt_timeout, UnsetType):
        return policy.attempt_timeout
    if safety is Safety.ONCE or attempt > policy.max_retries:
        return None
    return policy.read_attempt_timeout


def is_retryable(error: HeymarketError, safety: Safety, policy: RetryPolicy) -> bool:
    """Whether an attempt that failed with ``error`` may be sent again (attempts left aside)."""
    if isinstance(error, APIError):
        if error.status not in policy.retry_statuses:
            return False
        # A 429 is a refusal before any work; any other status on a create may follow a write.
        return safety is not Safety.ONCE or error.status == 429
    if isinstance(error, TransportError):
        return safety is not Safety.ONCE or not error.maybe_applied
    if isinstance(error, InvalidResponseError):
        # A cut or garbled body: harmless to read again, but a create answered so was applied.
        # A body past max_response_bytes would be as long the next time.
        return safety is not Safety.ONCE and not error._too_large
    return False


def backoff_delay(retry: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """The wait before retry number ``retry`` (0 for the first), with full jitter."""
    # min() before the power would overflow: 2.0**1100 raises OverflowError.
    ceiling = policy.backoff_max if retry >= 64 else policy.backoff_base * (2.0**retry)
    ceiling = min(policy.backoff_max, ceiling)
    return (rng or random).uniform(0.0, ceiling)


def plan_retry(
    error: HeymarketError,
    safety: Safety,
    policy: RetryPolicy,
    attempt: int,
    rng: random.Random | None = None,
) -> tuple[float | None, str | None]:
    """After attempt number ``attempt`` (from 1) failed: ``(wait, None)`` to retry after
    ``wait`` seconds, or ``(None, why)`` to raise ``error`` (``why`` is a note for the error,
    or ``None`` when the error is simply not one that is retried).
    """
    if not is_retryable(error, safety, policy):
        return None, None
    if attempt > policy.max_retries:
        if policy.max_retries == 0:
            return None, None
        return None, f"gave up after {attempt} attempts (max_retries={policy.max_retries})"
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        if error.retry_after > policy.max_retry_after:
            return None, (
                f"not retried: Retry-After of {error.retry_after:g} s is longer than "
                f"max_retry_after ({policy.max_retry_after:g} s)"
            )
        return error.retry_after, None
    return backoff_delay(attempt - 1, policy, rng), None


def may_have_written(exc: HeymarketError) -> bool:
    """Whether a write that failed with ``exc`` may have been applied (a batch: even in part)."""
    if isinstance(exc, TransportError):
        return exc.maybe_applied
    if isinstance(exc, APIError):
        return exc.status >= 500
    # A 2xx whose body could not be read: the write was applied.
    return isinstance(exc, InvalidResponseError)
