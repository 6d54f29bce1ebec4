"""Bulk calls: a large input cut into API-sized batches, sent under the client's limits.

Every batch is one request through the client's pipeline, so the concurrency cap, the rate
limiter and the retry rules apply to it as to any call; a batch is ``Safety.ONCE`` and is never
sent twice once it may have been applied, except a batch of creates whose every item carries a
``local_id`` (``_retry.create_safety``), which is retried like an idempotent write. A failed
batch does not stop the others: its items are marked failed (nothing was written) or unknown
(it may have been), and the results come back in input order. Matching the server's per-item
answers to the input items is pure and tested without a loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Container, Iterable, Mapping, Sequence
from typing import Any, Final, NamedTuple

from ._convert import StructureError, structure_contact
from ._redact import mask
from ._retry import may_have_written
from .errors import (
    AuthenticationError,
    ClientClosedError,
    HeymarketError,
    PermissionDeniedError,
)
from .models import BulkItem, BulkResult, BulkStatus, Contact

#: Items per request unless ``batch_size`` says otherwise. Heymarket documents no maximum for
#: its batch endpoints; 100 is the documented maximum of a v2 list page, a size the API is
#: known to handle in one answer.
DEFAULT_BATCH_SIZE: Final = 100

#: Batch answers that mean "all applied".
OK_WORDS: Final = frozenset({"ok", "success", "true"})
_REASON_KEYS: Final = ("error", "message", "reason", "error_message", "errors", "error_code")
#: Errors after which no further batch is sent: every one would fail the same way.
_FATAL: Final = (AuthenticationError, PermissionDeniedError, ClientClosedError)


#: What a batch answered: the entries it reported as done (``None``: it did not say) and the
#: entries it reported as failed.
Answer = tuple[list[Any] | None, list[Any]]
SendBatch = Callable[[list[Any]], Awaitable[Answer]]


#: Keys of an object that reads as an error rather than a result.
ERROR_KEYS: Final = ("error", "message", "detail", "error_description", "error_code")


def _failure_list(data: Mapping[str, Any]) -> list[Any]:
    for key in ("failed_contacts", "failed", "failures", "errors"):
        value = data.get(key)
        if value is not None:
            if not isinstance(value, list):
                raise StructureError(key, f"expected an array, got {type(value).__name__}")
            return value
    if "contacts" not in data and any(data.get(key) for key in ERROR_KEYS):
        # {"error": "..."} with a 200 lists neither failures nor results, and is no "all
        # done" either: the items' fate is unknown, not a success. (Beside the contacts it
        # returns, a "message" is only a remark.)
        raise StructureError("batch", f"an answer that reads as an error: {data!r:.200}")
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
        if data.strip().lower() in OK_WORDS:
            return None, []
        raise StructureError("batch", f"unexpected answer {data[:50]!r}")
    if isinstance(data, list):
        return None, data
    if isinstance(data, Mapping):
        return None, _failure_list(data)
    raise StructureError("batch", f"unexpected answer of type {type(data).__name__}")


def upsert_answer(data: Any) -> Answer:
    """The answer of ``POST /v2/contacts``: ``{"contacts": [...], "failed_contacts": [...]}``."""
    if isinstance(data, str) and data.strip().lower() in OK_WORDS:
        return None, []
    if not isinstance(data, Mapping):
        raise StructureError("contacts", f"expected an object, got {type(data).__name__}")
    done = data.get("contacts")
    if done is not None and not isinstance(done, list):
        raise StructureError("contacts", f"expected an array, got {type(done).__name__}")
    # Structured here, so that a contact that does not fit is an InvalidResponseError.
    return (None if done is None else [structure_contact(c) for c in done]), _failure_list(data)


# -- keys: how an answer's entry is matched to an input item -----------------------------------


class Keys(NamedTuple):
    """How an item or an answer's entry is known.

    ``ids`` name one contact each (a v2 UUID, a v1 phone): an item that has one is matched only
    by it. ``channels`` (a v2 item's phones and emails) match only the items that have no id.
    """

    ids: frozenset[str]
    channels: frozenset[str] = frozenset()


def _text(value: Any) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
        return str(value)
    return None


def _values(entry: Any, names: Iterable[str], *, channels: bool) -> set[str]:
    """The values of ``names`` in a mapping (and in its nested ``contact``) or a Contact, and
    with ``channels`` the ``channel_id`` of each of its ``contact_channels``."""
    out: set[str] = set()
    if isinstance(entry, Mapping):
        nested = entry.get("contact")
        if isinstance(nested, Mapping):
            out |= _values(nested, names, channels=channels)
        out |= {v for name in names if (v := _text(entry.get(name))) is not None}
        listed = entry.get("contact_channels") if channels else None
        # Only a list of mappings is read: any other shape names no channel.
        for channel in listed if isinstance(listed, list) else ():
            if isinstance(channel, Mapping) and (v := _text(channel.get("channel_id"))):
                out.add(v)
    elif isinstance(entry, Contact):
        out |= {v for name in names if (v := _text(getattr(entry, name, None))) is not None}
        if channels:
            out |= {c.channel_id for c in entry.contact_channels if c.channel_id}
    return out


def phone_keys(entry: Any) -> Keys:
    """A v1 batch item or failure entry, known by its phone (or a bare phone string)."""
    if (text := _text(entry)) is not None:
        return Keys(frozenset({text}))
    return Keys(frozenset(_values(entry, ("phone",), channels=True)))


def contact_keys(entry: Any) -> Keys:
    """A v2 item, contact or failure entry: its UUID (a bare string is one) and its channels."""
    if (text := _text(entry)) is not None:
        return Keys(frozenset({text.lower()}))
    uuids = frozenset(v.lower() for v in _values(entry, ("uuid",), channels=False))
    return Keys(uuids, frozenset(_values(entry, ("phone", "email"), channels=True)))


def reason_of(entry: Any, scrub: Callable[[str], str] = mask) -> str | None:
    """The server's reason for a failed item, when its entry gives one, as an error's message
    shows it (``scrub``: phones, emails, JWTs and credentials masked); ``detail`` keeps the
    entry as sent."""
    if isinstance(entry, Mapping):
        for key in _REASON_KEYS:
            value = entry.get(key)
            if isinstance(value, str) and value:
                return scrub(value)
            if isinstance(value, (list, Mapping)) and value:
                return scrub(str(value))
    return None


class Matched(NamedTuple):
    """The entries of an answer by the items they may belong to (in input order), and the
    entries that may belong to none."""

    groups: dict[tuple[int, ...], list[Any]]
    stray: list[Any]


def match(
    inputs: Sequence[Keys],
    entries: Iterable[Any],
    keys: Callable[[Any], Keys],
    *,
    skip: Container[int] = (),
) -> Matched:
    """Each entry under the items it may belong to: the items that share an id with it or,
    when none does, the items without an id that share a channel with it. Items in ``skip``
    are known but belong to no entry.
    """
    by_id: dict[str, list[int]] = {}
    by_channel: dict[str, list[int]] = {}
    for i, item in enumerate(inputs):
        for key in item.ids:
            by_id.setdefault(key, []).append(i)
        for key in () if item.ids else item.channels:
            by_channel.setdefault(key, []).append(i)
    matched = Matched({}, [])
    for entry in entries:
        entry_keys = keys(entry)
        owners = {i for key in entry_keys.ids for i in by_id.get(key, ())}
        if not owners:
            owners = {
                i for key in entry_keys.ids | entry_keys.channels for i in by_channel.get(key, ())
            }
        if not owners:
            matched.stray.append(entry)
        elif owners := {i for i in owners if i not in skip}:
            matched.groups.setdefault(tuple(sorted(owners)), []).append(entry)
        # else: it speaks of items accounted for already (failed ones): no one else's.
    return matched


class _Resolved(NamedTuple):
    #: The items the entries surely or by count belong to, each with its entry (``None`` when
    #: which of several entries is its own cannot be told).
    owned: dict[int, Any]
    #: The items that share entries with more items than there are entries: some of them have
    #: none, and which is unknown.
    doubtful: set[int]


def _resolve(groups: Mapping[tuple[int, ...], list[Any]], inputs: Sequence[Keys]) -> _Resolved:
    """Which items the grouped entries belong to, never by a guess.

    An entry with one possible owner is that item's. When a group of items shares as many
    entries as it has items (or more), each item has one; an entry goes to an item only when
    the items are alike (the same key given twice), in order. A group with fewer entries than
    items is doubtful: order is no evidence of which item an entry speaks of (the first of
    two duplicates is the one usually applied, not the one refused).
    """
    sure: dict[int, list[Any]] = {}
    counted: dict[int, list[Any]] = {}
    doubtful: set[int] = set()
    for owners, entries in groups.items():
        if len(owners) == 1:
            sure.setdefault(owners[0], []).extend(entries)
        elif len(entries) < len(owners):
            doubtful.update(owners)
        else:
            alike = len(entries) == len(owners) and len({inputs[i] for i in owners}) == 1
            for n, i in enumerate(owners):
                counted.setdefault(i, []).append(entries[n] if alike else None)
    owned: dict[int, Any] = {}
    for i in sorted(sure.keys() | counted.keys()):
        if i in doubtful and i not in sure:
            continue
        mine = sure.get(i, []) + counted.get(i, [])
        owned[i] = mine[0] if len(mine) == 1 else None
    return _Resolved(owned, doubtful - sure.keys())


def settle(
    offset: int,
    inputs: Sequence[Any],
    bodies: Sequence[Any],
    answer: Answer,
    keys: Callable[[Any], Keys],
    scrub: Callable[[str], str] = mask,
) -> tuple[list[BulkItem[Any]], list[Any]]:
    """The items of one batch from its answer, and the failure entries matched to no item.

    Entries are matched by id first (an item with a UUID is known by it alone), by channel for
    the items without one. An item named by a failure entry failed; an item matched to a
    returned entry succeeded with it as ``result``. An entry that may belong to more items than
    there are such entries makes those items :attr:`BulkStatus.UNKNOWN`: a wrong "failed"
    invites a resend, and a duplicate. When the answer lists what it did but some items were
    not matched to an entry, the leftovers are paired with the leftover entries in order, if
    there are as many of each; otherwise they are unknown (the server may have dropped them).
    When failures could not be matched to any item, the items not accounted for are unknown:
    any of them may be the one that failed.
    """
    done, failed = answer
    item_keys = [keys(body) for body in bodies]
    failures = match(item_keys, failed, keys)
    failing = _resolve(failures.groups, item_keys)
    results = match(item_keys, done or (), keys, skip=failing.owned.keys() | failing.doubtful)
    succeeding = _resolve(results.groups, item_keys)
    owned = dict(succeeding.owned)
    taken = failing.owned.keys() | failing.doubtful | owned.keys() | succeeding.doubtful
    leftovers = [i for i in range(len(bodies)) if i not in taken]
    if results.stray and len(results.stray) == len(leftovers) and not failures.stray:
        # The server's echo did not carry a key we know (it normalized a value, say): pair the
        # rest in order, the order being all that is left to go by.
        owned.update(zip(leftovers, results.stray, strict=True))
    items: list[BulkItem[Any]] = []
    for i in range(len(bodies)):
        common = {"index": offset + i, "input": inputs[i]}
        doubt = None
        if i in failing.owned:
            entry = failing.owned[i]
            items.append(
                BulkItem(
                    **common,
                    status=BulkStatus.FAILED,
                    reason=reason_of(entry, scrub),
                    detail=entry,
                )
            )
            continue
        if i in failing.doubtful:
            doubt = "a failure the batch reported names this item and another; either may be it"
        elif i in owned:
            items.append(BulkItem(**common, status=BulkStatus.SUCCEEDED, result=owned[i]))
            continue
        elif i in succeeding.doubtful:
            doubt = "the batch returned fewer contacts than the items they may belong to"
        elif failures.stray:
            doubt = "the batch reported failures that match no item; this may be one"
        elif done is not None:
            doubt = "the batch's answer lists this item neither as done nor as failed"
        if doubt is None:
            items.append(BulkItem(**common, status=BulkStatus.SUCCEEDED))
        else:
            items.append(BulkItem(**common, status=BulkStatus.UNKNOWN, reason=doubt))
    return items, failures.stray


def _batch_failed(
    offset: int, inputs: Sequence[Any], exc: HeymarketError, *, sent: bool
) -> list[BulkItem[Any]]:
    status = BulkStatus.UNKNOWN if sent and may_have_written(exc) else BulkStatus.FAILED
    reason = str(exc) if sent else f"not sent: an earlier batch failed with {exc}"
    return [
        BulkItem(index=offset + i, input=item, status=status, reason=reason, error=exc)
        for i, item in enumerate(inputs)
    ]


def _unmatched_answer(
    offset: int, inputs: Sequence[Any], exc: Exception, scrub: Callable[[str], str] = mask
) -> list[BulkItem[Any]]:
    """The items of a batch that was applied (it answered) but whose answer could not be read
    item by item: any of them may have failed."""
    reason = scrub(
        f"the batch was answered, but its answer could not be matched to the items: {exc!r}"
    )
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
    keys: Callable[[Any], Keys],
    scrub: Callable[[str], str] = mask,
) -> BulkResult[Any]:
    """Send ``bodies`` in batches of ``batch_size``, at most ``workers`` at a time.

    ``inputs[i]`` is what the caller gave for ``bodies[i]``. A batch that raises a
    :class:`HeymarketError` marks its own items; after an authentication or permission error
    (or a closed client) the batches not yet sent are marked failed without being sent. Any
    other exception (a cancellation) stops every batch in flight and propagates. ``scrub``
    masks the server's reasons (``Pipeline.scrub_text``, to honour ``log_pii`` and mask the
    client's own credentials).
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
                    done[k], strays[k] = settle(
                        lo, inputs[lo:hi], bodies[lo:hi], answer, keys, scrub
                    )
                except Exception as exc:  # one odd answer must not lose the other batches
                    done[k] = _unmatched_answer(lo, inputs[lo:hi], exc, scrub)

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
