"""Bulk calls: a large input cut into API-sized batches, sent under the client's limits.

Every batch is one request through the client's ``_call`` pipeline, so the concurrency cap,
the rate limiter and the retry rules apply to it as to any call; a batch that creates is
``Safety.CREATE`` and is never sent twice once it may have been applied. A failed batch does
not stop the others: its items are marked failed (nothing was written) or unknown (it may have
been), and the results come back in input order. Matching the server's per-item answers to the
input items is pure and tested without a loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from ._convert import StructureError, structure_contact
from .errors import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    HeymarketError,
    InvalidResponseError,
    PermissionDeniedError,
    TransportError,
)
from .models import BulkItem, BulkResult, BulkStatus, Contact

#: Items per request unless ``batch_size`` says otherwise. Heymarket documents no maximum for
#: its batch endpoints; 100 is the documented maximum of a v2 list page, a size the API is
#: known to handle in one answer.
DEFAULT_BATCH_SIZE: Final = 100

#: Batch answers that mean "all applied".
_OK_WORDS: Final = frozenset({"ok", "success", "true"})
_REASON_KEYS: Final = ("error", "message", "reason", "error_message", "errors", "error_code")
#: Errors after which no further batch is sent: every one would fail the same way.
_FATAL: Final = (AuthenticationError, PermissionDeniedError, ClientClosedError)


#: What a batch answered: the entries it reported as done (``None``: it did not say) and the
#: entries it reported as failed.
Answer = tuple[list[Any] | None, list[Any]]
SendBatch = Callable[[list[Any]], Awaitable[Answer]]


def may_have_written(exc: HeymarketError) -> bool:
    """Whether a write that failed with ``exc`` may have been applied (a batch: even in part)."""
    if isinstance(exc, TransportError):
        return exc.maybe_applied
    if isinstance(exc, APIError):
        return exc.status >= 500
    # A 2xx whose body could not be read: the write was applied.
    return isinstance(exc, InvalidResponseError)


def _failure_list(data: Mapping[str, Any]) -> list[Any]:
    for key in ("failed_contacts", "failed", "failures", "errors"):
        value = data.get(key)
        if value is not None:
            if not isinstance(value, list):
                raise StructureError(key, f"expected an array, got {type(value).__name__}")
            return value
    return []


def failures_answer(data: Any) -> Answer:
    """The answer of ``POST /v1/batch/contacts`` and ``DELETE /v2/contacts``.

    ``"ok"`` (or an empty body) means every item was applied; a bare array lists the failed
    items; an object may list them under ``failed_contacts``, ``failed``, ``failures`` or
    ``errors``.
    """
    if data is None or (isinstance(data, bool) and data):
        return None, []
    if isinstance(data, str):
        if data.strip().lower() in _OK_WORDS:
            return None, []
        raise StructureError("batch", f"unexpected answer {data[:50]!r}")
    if isinstance(data, list):
        return None, data
    if isinstance(data, Mapping):
        return None, _failure_list(data)
    raise StructureError("batch", f"unexpected answer of type {type(data).__name__}")


def upsert_answer(data: Any) -> Answer:
    """The answer of ``POST /v2/contacts``: ``{"contacts": [...], "failed_contacts": [...]}``."""
    if isinstance(data, str) and data.strip().lower() in _OK_WORDS:
        return None, []
    if not isinstance(data, Mapping):
        raise StructureError("contacts", f"expected an object, got {type(data).__name__}")
    done = data.get("contacts")
    if done is not None and not isinstance(done, list):
        raise StructureError("contacts", f"expected an array, got {type(done).__name__}")
    # Structured here, so that a contact that does not fit is an InvalidResponseError.
    return (None if done is None else [structure_contact(c) for c in done]), _failure_list(data)


# -- keys: how an answer's entry is matched to an input item -----------------------------------


def _values(entry: Any, names: Iterable[str]) -> set[str]:
    if isinstance(entry, (str, int)) and not isinstance(entry, bool):
        return {str(entry)}
    out: set[str] = set()
    if isinstance(entry, Mapping):
        nested = entry.get("contact")
        if isinstance(nested, Mapping):
            out |= _values(nested, names)
        for name in names:
            value = entry.get(name)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
                out.add(str(value))
        channels = entry.get("contact_channels")
        # Only a list of mappings is read: any other shape names no channel.
        for channel in channels if isinstance(channels, list) else ():
            if isinstance(channel, Mapping):
                value = channel.get("channel_id")
                if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
                    out.add(str(value))
    elif isinstance(entry, Contact):
        out |= {v for v in (entry.uuid, entry.phone, entry.email) if v}
        out |= {c.channel_id for c in entry.contact_channels}
    return out


def phone_keys(entry: Any) -> set[str]:
    """A v1 batch item or failure entry, known by its phone (or a bare phone string)."""
    return _values(entry, ("phone",))


def contact_keys(entry: Any) -> set[str]:
    """A v2 item, contact or failure entry, known by its UUID and channel values."""
    return _values(entry, ("uuid", "phone", "email"))


def reason_of(entry: Any) -> str | None:
    """The server's reason for a failed item, when its entry gives one."""
    if isinstance(entry, Mapping):
        for key in _REASON_KEYS:
            value = entry.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, (list, Mapping)) and value:
                return str(value)
    return None


def match(
    inputs: Sequence[set[str]], entries: Iterable[Any], keys: Callable[[Any], set[str]]
) -> tuple[dict[int, Any], list[Any]]:
    """Each entry given to the first input item that shares a key with it and has none yet.

    Returns ``{input index: entry}`` and the entries that matched no item.
    """
    owners: dict[str, list[int]] = {}
    for i, item_keys in enumerate(inputs):
        for key in item_keys:
            owners.setdefault(key, []).append(i)
    claimed: dict[int, Any] = {}
    unmatched: list[Any] = []
    for entry in entries:
        found = None
        for key in sorted(keys(entry)):
            found = next((i for i in owners.get(key, ()) if i not in claimed), None)
            if found is not None:
                break
        if found is None:
            unmatched.append(entry)
        else:
            claimed[found] = entry
    return claimed, unmatched


def settle(
    offset: int,
    inputs: Sequence[Any],
    bodies: Sequence[Any],
    answer: Answer,
    keys: Callable[[Any], set[str]],
) -> tuple[list[BulkItem[Any]], list[Any]]:
    """The items of one batch from its answer, and the failure entries matched to no item.

    An item named by a failure entry failed; an item matched to a returned entry succeeded with
    it as ``result``. When the answer lists what it did but some items were not matched to an
    entry, the leftovers are paired with the leftover entries in order, if there are as many of
    each. When failures could not be matched to any item, the items not accounted for are
    :attr:`BulkStatus.UNKNOWN`: any of them may be the one that failed.
    """
    done, failed = answer
    item_keys = [keys(body) for body in bodies]
    failures, stray_failures = match(item_keys, failed, keys)
    open_keys = [set() if i in failures else k for i, k in enumerate(item_keys)]
    results, stray_results = match(open_keys, done or (), keys)
    leftovers = [i for i in range(len(bodies)) if i not in failures and i not in results]
    if stray_results and len(stray_results) == len(leftovers) and not stray_failures:
        # The server's echo did not carry a key we know (it normalized a value, say): pair the
        # rest in order, the order being all that is left to go by.
        results.update(zip(leftovers, stray_results, strict=True))
        leftovers = []
    items: list[BulkItem[Any]] = []
    for i in range(len(bodies)):
        common = {"index": offset + i, "input": inputs[i]}
        if i in failures:
            entry = failures[i]
            items.append(
                BulkItem(**common, status=BulkStatus.FAILED, reason=reason_of(entry), detail=entry)
            )
        elif i in results:
            items.append(BulkItem(**common, status=BulkStatus.SUCCEEDED, result=results[i]))
        elif stray_failures:
            items.append(
                BulkItem(
                    **common,
                    status=BulkStatus.UNKNOWN,
                    reason="the batch reported failures that match no item; this may be one",
                )
            )
        else:
            items.append(BulkItem(**common, status=BulkStatus.SUCCEEDED))
    return items, stray_failures


def _batch_failed(
    offset: int, inputs: Sequence[Any], exc: HeymarketError, *, sent: bool
) -> list[BulkItem[Any]]:
    status = BulkStatus.UNKNOWN if sent and may_have_written(exc) else BulkStatus.FAILED
    reason = str(exc) if sent else f"not sent: an earlier batch failed with {exc}"
    return [
        BulkItem(index=offset + i, input=item, status=status, reason=reason, error=exc)
        for i, item in enumerate(inputs)
    ]


def _unmatched_answer(offset: int, inputs: Sequence[Any], exc: Exception) -> list[BulkItem[Any]]:
    """The items of a batch that was applied (it answered) but whose answer could not be read
    item by item: any of them may have failed."""
    reason = f"the batch was answered, but its answer could not be matched to the items: {exc!r}"
    return [
        BulkItem(index=offset + i, input=item, status=BulkStatus.UNKNOWN, reason=reason)
        for i, item in enumerate(inputs)
    ]


async def run_batches(
    inputs: Sequence[Any],
    bodies: Sequence[Any],
    *,
    batch_size: int,
    workers: int,
    send: SendBatch,
    keys: Callable[[Any], set[str]],
) -> BulkResult[Any]:
    """Send ``bodies`` in batches of ``batch_size``, at most ``workers`` at a time.

    ``inputs[i]`` is what the caller gave for ``bodies[i]``. A batch that raises a
    :class:`HeymarketError` marks its own items; after an authentication or permission error
    (or a closed client) the batches not yet sent are marked failed without being sent. Any
    other exception (a cancellation) stops every batch in flight and propagates.
    """
    starts = range(0, len(bodies), batch_size)
    done: list[list[BulkItem[Any]]] = [[] for _ in starts]
    strays: list[list[Any]] = [[] for _ in starts]
    queue = iter(enumerate(starts))
    fatal: HeymarketError | None = None

    async def worker() -> None:
        nonlocal fatal
        # One shared iterator: each batch is taken by exactly one worker, in input order.
        for k, lo in queue:
            hi = lo + batch_size
            if fatal is not None:
                done[k] = _batch_failed(lo, inputs[lo:hi], fatal, sent=False)
                continue
            try:
                answer = await send(list(bodies[lo:hi]))
            except HeymarketError as exc:
                done[k] = _batch_failed(lo, inputs[lo:hi], exc, sent=True)
                if isinstance(exc, _FATAL):
                    fatal = exc
            else:
                try:
                    done[k], strays[k] = settle(lo, inputs[lo:hi], bodies[lo:hi], answer, keys)
                except Exception as exc:  # one odd answer must not lose the other batches
                    done[k] = _unmatched_answer(lo, inputs[lo:hi], exc)

    tasks = [asyncio.ensure_future(worker()) for _ in range(min(workers, len(starts)))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return BulkResult(
        items=tuple(item for batch in done for item in batch),
        unmatched=tuple(entry for batch in strays for entry in batch),
        batches=len(starts),
    )
