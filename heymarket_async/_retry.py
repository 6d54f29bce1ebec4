"""When a failed attempt may be sent again, and how long to wait first.

Decided per operation, not per HTTP method: Heymarket's reads are POSTs, and its creates are
POSTs that must never be repeated unless the first attempt provably never reached the server.
"""

from __future__ import annotations

import random
from typing import Final

import attrs

from ._wire import Safety
from .errors import APIError, HeymarketError, InvalidResponseError, TransportError

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "backoff_delay", "is_retryable"]

#: Statuses that say "try again later" for a read or an idempotent write.
RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a call is retried. Give one to ``HeymarketClient(retry=...)`` or ``with_options``.

    - ``max_retries``: attempts after the first (0 turns retries off).
    - ``backoff_base`` / ``backoff_max``: exponential backoff with full jitter: the n-th retry
      waits a random time in ``[0, min(backoff_max, backoff_base * 2**n)]`` seconds.
    - ``max_retry_after``: a ``Retry-After`` longer than this is not waited for: the
      :class:`RateLimitError` is raised at once, with ``retry_after`` set.
    - ``retry_statuses``: the statuses retried for reads and idempotent writes. Creates are
      retried only on 429 and on connection failures that prove nothing was sent.
    """

    max_retries: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    backoff_base: float = attrs.field(default=0.5, validator=_non_negative)
    backoff_max: float = attrs.field(default=8.0, validator=_non_negative)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_retries=0)


def is_retryable(error: HeymarketError, safety: Safety, policy: RetryPolicy) -> bool:
    """Whether an attempt that failed with ``error`` may be sent again."""
    if isinstance(error, APIError):
        if error.status not in policy.retry_statuses:
            return False
        # A 429 is a refusal before any work; any other status on a create may follow a write.
        return safety is not Safety.CREATE or error.status == 429
    if isinstance(error, TransportError):
        return safety is not Safety.CREATE or not error.maybe_applied
    if isinstance(error, InvalidResponseError):
        # A cut or garbled body: harmless to read again, but a create answered so was applied.
        return safety is not Safety.CREATE
    return False


def backoff_delay(retry: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """The wait before retry number ``retry`` (0 for the first), with full jitter."""
    ceiling = min(policy.backoff_max, policy.backoff_base * (2.0**retry))
    return (rng or random).uniform(0.0, ceiling)
