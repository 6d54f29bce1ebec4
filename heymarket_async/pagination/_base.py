"""What every pager shares: the :class:`Fetch` it sends list requests through, the buffer of
the page being handed out, ``max_items``, ``pages()``, closing, and raw walks (the items as
the API sent them, not structured)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar

from heymarket_async import _validate as check
from heymarket_async._convert import StructureError, structure_contact
from heymarket_async._otel import WALK, Walk
from heymarket_async._redact import mask, scrub_error
from heymarket_async._sansio.response import ItemTexts
from heymarket_async.errors import HeymarketError, InvalidResponseError
from heymarket_async.pagination._positions import KEY_TYPES, RawContact

__all__ = [
    "ContactT",
    "DecodingFetch",
    "Fetch",
    "Pager",
    "Pages",
    "TagT",
    "checked_max_items",
    "contact_structure",
    "object_page",
    "raw_page",
]

T = TypeVar("T")
RawT = TypeVar("RawT")
ItemT = TypeVar("ItemT")
PagerT = TypeVar("PagerT", bound="Pager[Any, Any]")

if TYPE_CHECKING:
    import typing_extensions

    from heymarket_async.models import Contact, Tag

    # What a walk hands out: the model, or with ``raw=True`` the API's own ``dict``. The
    # default keeps a bare ``V1ContactPager`` annotation meaning ``V1ContactPager[Contact]``.
    ContactT = typing_extensions.TypeVar("ContactT", default=Contact)
    TagT = typing_extensions.TypeVar("TagT", default=Tag)
else:
    # At run time a TypeVar's default changes nothing (and needs Python 3.13).
    ContactT = TypeVar("ContactT")
    TagT = TypeVar("TagT")


class Fetch(Protocol):
    """One list request of a walk: send ``body`` to the list endpoint and parse the decoded
    answer."""

    def __call__(self, body: dict[str, Any], parse: Callable[[Any], T], /) -> Awaitable[T]: ...


class DecodingFetch(Protocol):
    """A :class:`Fetch` that also takes the decoder of the answer's body (the resources' own
    fetches do): what ``V2ContactPager._keep_texts`` needs."""

    def __call__(
        self,
        body: dict[str, Any],
        parse: Callable[[Any], T],
        /,
        decode: Callable[[bytes], Any] | None = None,
    ) -> Awaitable[T]: ...


def object_page(data: Any) -> list[RawContact]:
    """A page as the raw JSON objects: checked to be an array of objects, structured later."""
    if not isinstance(data, list):
        raise TypeError(f"expected an array of contacts, got {type(data).__name__}")
    for item in data:
        if type(item) is not dict:
            raise TypeError(f"expected contact objects, got {type(item).__name__}")
    return data


def raw_page(data: Any) -> list[RawContact]:
    """:func:`object_page`, with each ``id`` (a string or an integer) and ``updated`` (the
    same, or nothing) checked too: the walks' bookkeeping hashes them before a contact is
    structured, and tells contacts apart by their ids (two without one, at one time, would be
    taken for one contact read twice: a raw walk refuses them, as a typed walk does)."""
    if not isinstance(data, list):
        return object_page(data)  # raises
    # One pass (this runs for every contact of a walk): object_page's checks and these, the
    # usual types first (identity tests cost less than a set lookup), by subscript (nearly
    # every contact has both keys; cheaper than .get).
    try:
        for item in data:
            if type(item) is not dict:
                return object_page(data)  # raises
            i = item["id"]
            u = item["updated"]
            if (type(u) is not str and type(u) not in KEY_TYPES) or (
                type(i) is not int and type(i) is not str
            ):
                raise _bad_keys(item)
    except KeyError:
        for item in data:  # a contact without one: all of them again, a missing one None
            if type(item) is not dict:
                return object_page(data)  # raises
            if type(item.get("id")) not in _ID_TYPES or type(item.get("updated")) not in KEY_TYPES:
                raise _bad_keys(item) from None
    return data


#: What a contact's ``id`` may be in a walk (``updated`` may also be missing: KEY_TYPES).
_ID_TYPES: Final = frozenset([int, str])


def _bad_keys(item: RawContact) -> TypeError:
    if item.get("id") is None:
        return TypeError(f"a contact without an id, which no walk can tell apart: {item!r:.200}")
    return TypeError(f"a contact's id or updated is not a string or an integer: {item!r:.200}")


def checked_max_items(value: int | None) -> int | None:
    return None if value is None else check.bounded_int(value, "max_items", 0)


def contact_structure(raw: bool) -> Callable[[RawContact], Any] | None:
    """A contact pager's ``structure``: none for a raw walk (``raw`` is checked)."""
    return None if check.boolean(raw, "raw") else structure_contact


class Pages(Generic[ItemT]):
    """``pager.pages()``: the same walk, a list of items at a time."""

    def __init__(self, pager: Pager[Any, ItemT]) -> None:
        self._pager = pager

    def __aiter__(self) -> Pages[ItemT]:
        return self

    async def __anext__(self) -> list[ItemT]:
        return await self._pager._next_batch()

    async def aclose(self) -> None:
        await self._pager.aclose()


# A class with ``__anext__``, not an async generator: ``position`` must be valid after every
# item (a generator keeps its place in its frame), ``aclose()`` from another task must stop a
# walk that is awaiting a page (an async generator raises "already running" there), and the
# per-item path must stay one index check and one ``structure`` call (none, on a raw walk).
class Pager(Generic[RawT, ItemT]):
    """A walk over pages of ``RawT``, handed out one ``ItemT`` at a time (or a page at a time
    with :meth:`pages`). Subclasses implement :meth:`_fetch`.

    ``structure`` makes an item of a raw one; ``None`` hands the raw items out as they are
    (then ``ItemT`` is ``RawT``): the same objects the walk's bookkeeping read, not copies.
    """

    #: The list named in the error for an item that does not fit its model.
    _error_url = ""

    def __init__(
        self,
        structure: Callable[[RawT], ItemT] | None,
        *,
        scrub: Callable[[str], str] = mask,
        max_items: int | None = None,
    ) -> None:
        self._structure = structure
        self._scrub = scrub  # masks a bad item's text in the error (secrets, phones, emails)
        self._buf: list[RawT] = []  # the page being handed out, cut to max_items
        self._avail = 0  # how many items that page had before the cut
        self._i = 0  # how many of them were handed out
        self._left = max_items  # items still allowed out, or None for no cap
        self._closed = False
        self._walk = Walk(type(self).__name__, self._error_url)  # its span, when traced

    def __aiter__(self: PagerT) -> PagerT:
        return self

    async def __anext__(self) -> ItemT:
        i = self._i
        if i >= len(self._buf):
            await self._refill()
            i = 0
        self._i = i + 1
        structure = self._structure
        if structure is None:
            return self._buf[i]  # type: ignore[return-value]  # a raw walk: ItemT is RawT
        try:
            return structure(self._buf[i])
        except StructureError as exc:
            raise self._bad_item(exc) from exc

    def pages(self) -> Pages[ItemT]:
        """An async iterator of lists: the rest of the walk, a page at a time.

        When items were already taken one by one, the first list is the rest of that page.
        ``max_items`` still applies, and ``position`` is valid after every list. Each list is
        a new one; on a raw walk its items are the API's objects themselves.
        """
        return Pages(self)

    async def _next_batch(self) -> list[ItemT]:
        if self._i >= len(self._buf):
            await self._refill()
        i = self._i
        structure = self._structure
        if structure is None:
            # A new list (the buffer stays the walk's own, for ``position``), the same dicts
            # (and their texts, when the walk keeps them: see V2ContactPager._keep_texts).
            buf = self._buf
            page = buf.tail(i) if type(buf) is ItemTexts else buf[i:]
            self._i = i + len(page)
            return page  # type: ignore[return-value]  # a raw walk: ItemT is RawT
        raw = self._buf[i:] if i else self._buf
        try:
            batch = [structure(c) for c in raw]
        except StructureError:
            # Hand out the items before the bad one; the next call raises for it (and passes
            # it, as __anext__ does), so that ``position`` never covers items not handed out.
            batch = []
            for c in raw:
                try:
                    batch.append(structure(c))
                except StructureError as exc:
                    if batch:
                        break
                    self._i = i + 1
                    raise self._bad_item(exc) from exc
        self._i = i + len(batch)
        return batch

    def _bad_item(self, exc: StructureError) -> InvalidResponseError:
        scrub_error(exc, self._scrub)  # it becomes the cause: it quotes the raw value
        return InvalidResponseError(
            f"unexpected contact in a page: {self._scrub(str(exc))}",
            status=200,
            method="POST",
            url=self._error_url,
        )

    async def _refill(self) -> None:
        """Load the next non-empty page into the buffer, or raise ``StopAsyncIteration``."""
        while True:
            if self._closed or self._left == 0:
                await self.aclose()
                raise StopAsyncIteration
            # The requests of this fetch (and of the tasks it starts) belong to this walk.
            walk = WALK.set(self._walk)
            try:
                page = await self._fetch()
            except BaseException as exc:
                # An error or a cancellation ends the walk: cancel whatever runs ahead.
                self._walk.fail(exc)
                await self.aclose()
                if isinstance(exc, HeymarketError):
                    # The walk's own errors quote the server's values (an ``updated`` time,
                    # an id): shown only as an error from the client would show them.
                    scrub_error(exc, self._scrub)
                raise
            finally:
                WALK.reset(walk)
            if page is None:
                await self.aclose()
                raise StopAsyncIteration
            self._buf = page
            self._avail = len(page)
            self._i = 0
            if self._left is not None:
                if len(page) > self._left:
                    self._buf = page[: self._left]
                self._left -= len(self._buf)
            if page:
                return

    async def _fetch(self) -> list[RawT] | None:
        """The next page's items to hand out (maybe none), or ``None`` at the end."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Stop the walk: no request goes out after this, and nothing is left running."""
        self._stop()

    def _stopped(self) -> bool:
        # Whether the walk was closed: after an ``await``, maybe by aclose() from another task
        # (a method, so that a check made before the ``await`` does not narrow this one).
        return self._closed

    def _stop(self) -> None:
        self._closed = True
        self._walk.end()
        # Nothing more comes out; the cut buffer still tells ``position`` where the walk was.
        del self._buf[self._i :]

    async def __aenter__(self: PagerT) -> PagerT:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
