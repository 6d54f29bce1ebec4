"""``FakeHeymarket``: the in-process emulator, an aiohttp.web app on 127.0.0.1."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid as uuid_module
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs
from aiohttp import web
from yarl import URL

from . import _rules as rules
from ._auth import Unauthorized, check_authorization
from ._clock import FakeClock, to_micros
from ._faults import AFTER_WRITE, Fault, FaultKind, Faults, reason_phrase
from ._json import NotJSON, decode_json, decode_json_or_none
from ._seed import CREATOR_ID, TEAM_ID
from ._store import ContactStore, Record, TagStore
from ._timestamps import TimestampFormat

if TYPE_CHECKING:
    from heymarket_async import HeymarketClient

V1Order = Literal["newest_first", "oldest_first"]

#: The first ``updated`` of seeded contacts unless ``seed(start=...)`` says otherwise.
DEFAULT_SEED_START: Final = datetime(2025, 1, 1, tzinfo=timezone.utc)
DEFAULT_CONTACT_FIELDS: Final = ((123, "Plan"), (456, "Renewal Date"))
_JSON: Final = "application/json"


@attrs.define(kw_only=True)
class RecordedRequest:
    """One request as the emulator saw it (``fake.requests``).

    ``headers`` has ``Authorization`` replaced by ``"Bearer ***"``; ``json`` is the decoded
    body (``None`` if there was none or it was not JSON); ``time`` is ``time.monotonic()`` on
    arrival; ``number`` is its position on its route, from 1; ``status`` is the status
    answered (``None`` while in flight, or when the connection was dropped); ``fault`` the
    fault applied, if any; ``handler_cpu`` the process CPU seconds spent in the endpoint.
    """

    method: str
    path: str
    route: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    time: float
    number: int
    status: int | None = None
    fault: Fault | None = None
    handler_cpu: float = 0.0


class ContactsView(Mapping[int, dict[str, Any]]):
    """Read-only ``{id: contact JSON}`` over the store; each read is a fresh dict."""

    def __init__(self, store: ContactStore) -> None:
        self._store = store

    def __getitem__(self, contact_id: int) -> dict[str, Any]:
        if contact_id not in self._store:
            raise KeyError(contact_id)
        return self._store.as_json(contact_id)

    def __iter__(self) -> Iterator[int]:
        return self._store.ids()

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, contact_id: object) -> bool:
        return contact_id in self._store


class _Drop(Exception):
    """Raised inside the middleware to close the connection without an answer."""


def _error(status: int, error: str, message: str) -> web.Response:
    body = json.dumps({"error": error, "message": message}).encode()
    return web.Response(status=status, body=body, content_type=_JSON)


def _json(data: Any) -> web.Response:
    return web.Response(body=json.dumps(data, separators=(",", ":")).encode(), content_type=_JSON)


def _raw(body: bytes) -> web.Response:
    return web.Response(body=body, content_type=_JSON)


def _new_fields(given: Mapping[str, Any]) -> dict[str, Any]:
    """A new contact's stored fields: the standard keys in a stable order, then what was given."""
    fields: dict[str, Any] = {
        "phone": None,
        "first": None,
        "last": None,
        "display_name": None,
        "email": None,
        "custom": {},
        "tags": [],
        "contact_channels": [],
        "assigned_user_id": None,
        "is_opted_out": False,
        "avatar": None,
        "team_id": TEAM_ID,
        "creator_id": CREATOR_ID,
    }
    fields.update(given)
    if fields["display_name"] is None:
        name = " ".join(p for p in (fields["first"], fields["last"]) if p)
        fields["display_name"] = name or None
    _sync_channels({}, fields)
    return fields


def _sync_channels(old: Mapping[str, Any], new: dict[str, Any]) -> None:
    """Keep ``contact_channels`` in step with ``phone`` and ``email`` after a write."""
    channels = [dict(c) for c in new.get("contact_channels") or ()]
    for kind in ("phone", "email"):
        before, after = old.get(kind), new.get(kind)
        if before != after and before:
            channels = [
                c for c in channels if (c["channel_type"], c["channel_id"]) != (kind, before)
            ]
        if after and not any(
            (c["channel_type"], c["channel_id"]) == (kind, after) for c in channels
        ):
            channels.append({"channel_type": kind, "channel_id": after})
    new["contact_channels"] = channels


def _ref(record: Record) -> web.Response:
    return _json({"id": record.id, "rev": record.rev, "uuid": record.uuid})


class FakeHeymarket:
    """An emulator of the Heymarket contacts API for tests: aiohttp.web on 127.0.0.1.

    ::

        async with FakeHeymarket(api_key="test") as fake:
            fake.seed(100)
            async with fake.client() as hm:
                page = await hm.list_contacts()

    Every endpoint of the SDK is served from an in-memory store, with the API's checks (401
    without a valid key or JWT; 400 ``{"error": "bad_data", ...}`` for a bad phone, more than
    five tags, a non-numeric custom key, ``limit`` over the maximum or malformed JSON; 404 for
    an unknown id) and an ``X-Request-Id`` on every answer.

    What the docs leave open is a switch, with the default the real API most likely has:

    - ``v1_order``: ``"newest_first"`` (default, like Heymarket's other lists) or
      ``"oldest_first"``. Contacts are ordered by ``(updated, id)``, the id breaking ties
      the same way in both directions.
    - ``v1_cursor_inclusive``: whether ``POST /v1/contacts {"date": d}`` includes contacts
      updated exactly at ``d``. Default ``False`` (strictly before ``d`` newest-first, strictly
      after it oldest-first), as the docs' "pass the last item's ``updated``" suggests.
    - ``v1_page_size`` (30), ``v2_default_limit`` (30), ``v2_max_limit`` (100, above it 400;
      the default may not exceed it).
    - ``timestamp_format``: ``"milliseconds"`` (default, ``2026-05-07T12:00:00.123Z``),
      ``"seconds"`` (``...:00Z``) or ``"microseconds"`` (``...:00.123456+00:00``). Stored
      times keep microseconds; they are rendered truncated, and compared with cursors at the
      rendered resolution, so contacts that render alike tie.
    - ``clock``: a :class:`FakeClock` (default: one running with real time) stamping every
      write; freeze it to make ``updated`` ties on purpose.
    - ``latency``: seconds added to every request (real time).
    - ``contact_fields``: the ``(id, name)`` pairs ``POST /v1/contact-fields`` answers.
    - ``jwt_clock``: the wall clock against which a JWT's ``iat`` is checked. Default
      ``time.time``, the real time, because clients sign with the real time whatever the fake
      clock says.
    - ``record_limit``: keep only the last n requests in :attr:`requests` (``None``: all).
    - ``tag_page_size``: tags per ``POST /v1/tags`` page (30).

    Choices where the docs are silent: a PUT keeps the fields its body leaves out (names
    given are overwritten; ``custom`` merges unless ``?overwrite=true``); creates never
    conflict (two contacts may share a phone; lookups return the lowest id); every read, v1
    and v2, includes ``uuid`` and ``contact_channels``; ``POST /v2/contact/{uuid}/channel``
    answers the contact's channels as a bare array ``[{"channel_type", "channel_id"}, ...]``
    and adding a channel the contact already has is not a write; v2 search answers the
    matching contacts in the order of the values asked, each once; ``DELETE`` answers
    ``"ok"``; error bodies are ``{"error": "<slug>", "message": "..."}``.

    The endpoints beyond the first scope, where the docs give no example: ``/v1/contact/status``
    and ``set_status`` take ``{"id"}`` (an int or a digit string) or ``{"phone"}``;
    ``unsubscribed`` is the contact's ``is_opted_out`` (``subscribed``/``unsubscribed``/
    ``active`` write it, moving ``rev`` when it changes) and ``blocked`` is kept beside the
    contact in :attr:`blocked` (no ``rev`` change); ``active`` also unblocks.
    ``POST /v1/contacts/fields`` numbers new fields after the highest id and answers
    ``{"fields": [{"id", "name"}]}``. ``POST /v1/batch/contacts`` updates the contact that has
    the item's phone (``custom`` merged unless ``?overwrite=true``) or creates one, applies the
    valid items and answers ``"ok"`` or the array of failed items, each with an ``error``.
    Tags are ``{"id", "name", "color", "created", "updated"}``; ``POST /v1/tags`` lists them
    newest first, ``date`` exclusive. ``PUT /v2/contact/{uuid}`` merges like the v1 PUT and
    answers the whole contact; ``PUT .../channel`` replaces the contact's channel of that
    type. ``POST /v2/contacts`` updates the items with a ``uuid`` and creates the others,
    answering ``{"contacts": [...], "failed_contacts": [{...item, "error"}]}``;
    ``DELETE /v2/contacts`` takes ``{"contacts": [uuid, ...]}`` and answers ``"ok"`` or
    ``{"failed_contacts": [{"uuid", "error"}]}``.

    Observation: :attr:`requests` (:class:`RecordedRequest`), :attr:`in_flight`,
    :attr:`peak_in_flight`; :attr:`contacts` is a read-only ``{id: contact JSON}`` view
    (iterating in ``(updated, id)`` order); :attr:`faults` scripts failures
    (:class:`Faults`); :attr:`clock` is the :class:`FakeClock`.

    Clients made by :meth:`client` are closed when the fake closes (closing them earlier is
    fine).
    """

    def __init__(
        self,
        api_key: str | None = "test",
        *,
        secret_id: str | None = None,
        secret_key: str | None = None,
        v1_order: V1Order = "newest_first",
        v1_cursor_inclusive: bool = False,
        v1_page_size: int = 30,
        v2_default_limit: int = 30,
        v2_max_limit: int = 100,
        timestamp_format: TimestampFormat = "milliseconds",
        clock: FakeClock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        contact_fields: Sequence[tuple[int, str]] = DEFAULT_CONTACT_FIELDS,
        seed: int = 0,
        jwt_clock: Callable[[], float] = time.time,
        record_limit: int | None = None,
        tag_page_size: int = 30,
    ) -> None:
        if v1_order not in ("newest_first", "oldest_first"):
            raise ValueError(f"v1_order must be 'newest_first' or 'oldest_first': {v1_order!r}")
        if (secret_id is None) != (secret_key is None):
            raise ValueError("secret_id and secret_key go together")
        if api_key is None and secret_id is None:
            raise ValueError("give an api_key, a secret_id and secret_key, or both")
        for name, value in (
            ("v1_page_size", v1_page_size),
            ("v2_default_limit", v2_default_limit),
            ("v2_max_limit", v2_max_limit),
            ("tag_page_size", tag_page_size),
        ):
            if value < 1:
                raise ValueError(f"{name} must be >= 1")
        if v2_default_limit > v2_max_limit:
            raise ValueError(
                f"v2_default_limit ({v2_default_limit}) must be <= v2_max_limit ({v2_max_limit})"
            )
        self.api_key = api_key
        self.secret_id = secret_id
        self._secret_key = secret_key
        self.v1_order: V1Order = v1_order
        self.v1_cursor_inclusive = v1_cursor_inclusive
        self.v1_page_size = v1_page_size
        self.v2_default_limit = v2_default_limit
        self.v2_max_limit = v2_max_limit
        self.timestamp_format = timestamp_format
        self.clock = clock if clock is not None else FakeClock()
        self.host = host
        self.port = port
        self.latency = latency
        self.contact_fields = [(int(i), str(n)) for i, n in contact_fields]
        self._jwt_clock = jwt_clock
        self.store = ContactStore(
            clock=self.clock,
            timestamp_format=timestamp_format,
            field_ids=[i for i, _ in self.contact_fields],
            seed=seed,
        )
        self.contacts = ContactsView(self.store)
        self.tag_page_size = tag_page_size
        self.tags = TagStore(clock=self.clock, timestamp_format=timestamp_format)
        #: The ids of the contacts whose status is blocked (``POST /v1/contact/set_status``).
        self.blocked: set[int] = set()
        self.faults = Faults()
        #: Every request, oldest first (the last ``record_limit``). A deque that grows while
        #: requests arrive: take ``list(fake.requests)`` (or :meth:`requests_to`) to slice it,
        #: or to iterate across an ``await``.
        self.requests: deque[RecordedRequest] = deque(maxlen=record_limit)
        self.in_flight = 0
        self.peak_in_flight = 0
        self._counts: dict[str, int] = {}
        self._total = 0
        self._hooks: list[Callable[[RecordedRequest], Awaitable[None] | None]] = []
        self._clients: list[HeymarketClient] = []
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._url: str | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (``http://[::1]:<port>`` for an IPv6 host); only once
        started."""
        if self._url is None:
            raise RuntimeError("the fake is not started: use 'async with' or await start()")
        return self._url

    def make_app(self) -> web.Application:
        """The aiohttp application (for running it some other way than :meth:`start`)."""
        app = web.Application(middlewares=[self._middleware])
        app.on_response_prepare.append(_add_request_id)
        r = app.router
        r.add_post("/v1/contact", self._v1_create)
        r.add_post("/v1/contact/get", self._v1_get_by)
        r.add_get("/v1/contact/{id}", self._v1_get)
        r.add_put("/v1/contact/{id}", self._v1_update)
        r.add_delete("/v1/contact/{id}", self._v1_delete)
        r.add_post("/v1/contacts", self._v1_list)
        r.add_post("/v1/contacts/count", self._v1_count)
        r.add_post("/v1/contact-fields", self._v1_fields)
        r.add_post("/v1/contact/status", self._v1_status)
        r.add_post("/v1/contact/set_status", self._v1_set_status)
        r.add_post("/v1/contacts/fields", self._v1_create_fields)
        r.add_post("/v1/batch/contacts", self._v1_batch)
        r.add_post("/v1/tag", self._v1_tag_create)
        r.add_get("/v1/tag/{id}", self._v1_tag_get)
        r.add_delete("/v1/tag/{id}", self._v1_tag_delete)
        r.add_post("/v1/tags", self._v1_tags)
        r.add_get("/v2/contact/{uuid}", self._v2_get)
        r.add_post("/v2/contact", self._v2_create)
        r.add_post("/v2/contacts/list", self._v2_list)
        r.add_post("/v2/contacts/search", self._v2_search)
        r.add_post("/v2/contact/{uuid}/channel", self._v2_add_channel)
        r.add_put("/v2/contact/{uuid}", self._v2_update)
        r.add_delete("/v2/contact/{uuid}", self._v2_delete)
        r.add_post("/v2/contacts", self._v2_bulk)
        r.add_delete("/v2/contacts", self._v2_bulk_delete)
        r.add_put("/v2/contact/{uuid}/channel", self._v2_update_channel)
        return app

    async def start(self) -> FakeHeymarket:
        """Listen on ``host:port`` (port 0: a free one); :attr:`url` says where."""
        if self._runner is not None:
            return self
        self._closing = asyncio.Event()
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            # A port in use, say: nothing is left set up (close() would not know of it).
            await runner.cleanup()
            raise
        self._runner = runner
        self._url, self.port = listening_url(runner.addresses)
        return self

    async def close(self) -> None:
        """Close the clients made by :meth:`client`, release hung requests, stop listening."""
        self._closing.set()
        clients, self._clients = self._clients, []
        for client in clients:
            await client.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeHeymarket:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def client(self, **kwargs: Any) -> HeymarketClient:
        """A :class:`HeymarketClient` bound to this fake with its credentials.

        ``kwargs`` go to the client (``retry=``, ``timeout=``, ``session=``...). Uses the API
        key if the fake has one, else the secret pair. Closed when the fake closes.
        """
        from heymarket_async import HeymarketClient

        if "api_key" not in kwargs and "secret_id" not in kwargs:
            if self.api_key is not None:
                kwargs["api_key"] = self.api_key
            else:
                kwargs["secret_id"] = self.secret_id
                kwargs["secret_key"] = self._secret_key
        kwargs.setdefault("base_url", self.url)
        client = HeymarketClient(**kwargs)
        self._clients.append(client)
        return client

    def __repr__(self) -> str:
        where = self._url or "not started"
        return f"FakeHeymarket({where}, {len(self.store)} contacts)"

    # -- store access for tests -------------------------------------------------------------

    def seed(
        self,
        n: int,
        *,
        seed: int = 0,
        tie_group_size: int | Sequence[int] = 1,
        start: datetime = DEFAULT_SEED_START,
        step: float = 1.0,
    ) -> range:
        """Add ``n`` realistic, deterministic contacts; returns their ids.

        Names, E.164 phones (mostly US, some UK), emails, custom values for the configured
        fields, 0-3 tags, opt-outs. ``updated`` starts at ``start`` and goes up by ``step``
        seconds per group of ``tie_group_size`` contacts (an int, or a pattern of group sizes
        repeated, e.g. ``[1, 1, 50]``). The same arguments always give the same contacts.
        A million take about a second: fields are made on demand from ``(seed, id)``.
        """
        return self.store.seed(
            n,
            seed=seed,
            start=to_micros(start),
            step=round(step * 1_000_000),
            ties=tie_group_size,
        )

    def add_contact(
        self,
        *,
        updated: datetime | None = None,
        created: datetime | None = None,
        id: int | None = None,
        uuid: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Store a contact directly; returns it as the API would.

        ``fields`` are API fields (``phone``, ``first``, ``custom``, ``tags`` as
        ``[{"tag_id": N}]``...), stored as given: they are not validated, so a test can store
        what the API would refuse. ``updated``/``created`` default to the clock's now. ``id``
        (default: the next one) must be an int from 1 to ``2**40 - 1``, not yet taken, else
        ``ValueError``.
        """
        record = self.store.create(
            _new_fields(fields),
            updated=None if updated is None else to_micros(updated),
            created=None if created is None else to_micros(created),
            contact_id=id,
            uuid=uuid,
        )
        return self.store.as_json(record.id)

    def update_contact(
        self, contact_id: int, *, updated: datetime | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change stored fields directly (``custom`` replaced); ``rev`` + 1, ``updated`` = now.

        With no fields, just touches the contact. ``KeyError`` for an unknown id.
        """
        old = self.store.get(contact_id)
        if old is None:
            raise KeyError(contact_id)
        new = {**old.fields, **fields}
        _sync_channels(old.fields, new)
        self.store.replace(contact_id, new, updated=None if updated is None else to_micros(updated))
        return self.store.as_json(contact_id)

    def delete_contact(self, contact_id: int) -> None:
        """Remove a contact directly; ``KeyError`` for an unknown id."""
        self.store.delete(contact_id)

    def add_tag(
        self, name: str, *, color: str | None = None, id: int | None = None
    ) -> dict[str, Any]:
        """Store a tag directly; returns it as the API would. ``created``/``updated`` = now."""
        return self.tags.as_json(self.tags.create(name, color, tag_id=id))

    def on_request(
        self, callback: Callable[[RecordedRequest], Awaitable[None] | None]
    ) -> Callable[[RecordedRequest], Awaitable[None] | None]:
        """Call ``callback(request)`` (sync or async) as each request arrives, before it is
        handled: the place to change contacts between the pages of a walk. Usable as a
        decorator. Remove it with :meth:`remove_hook`.
        """
        self._hooks.append(callback)
        return callback

    def remove_hook(self, callback: Callable[[RecordedRequest], Awaitable[None] | None]) -> None:
        self._hooks.remove(callback)

    def requests_to(self, route: str) -> list[RecordedRequest]:
        """The recorded requests on ``route`` (a template like ``"POST /v1/contacts"``)."""
        return [r for r in self.requests if route in (r.route, f"{r.method} {r.path}")]

    # -- the pipeline -----------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        resource = request.match_info.route.resource
        template = resource.canonical if resource is not None else request.path
        route = f"{request.method} {template}"
        number = self._counts[route] = self._counts.get(route, 0) + 1
        self._total += 1
        overall = self._total
        raw = await request.read()
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            route=route,
            query=dict(request.query),
            headers={
                k: ("Bearer ***" if k.lower() == "authorization" else v)
                for k, v in request.headers.items()
            },
            json=decode_json_or_none(raw),
            time=time.monotonic(),
            number=number,
        )
        self.requests.append(recorded)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            response = await self._handle(request, handler, recorded, overall)
        except _Drop:
            _drop(request)
            # The transport is closed: aiohttp writes nothing more on it.
            raise asyncio.CancelledError from None
        finally:
            self.in_flight -= 1
        recorded.status = response.status
        return response

    async def _handle(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        recorded: RecordedRequest,
        overall: int,
    ) -> web.StreamResponse:
        for hook in list(self._hooks):
            result = hook(recorded)
            if inspect.isawaitable(result):
                await result
        if self.latency:
            await asyncio.sleep(self.latency)
        # Rules name a concrete path with its method ("GET /v1/contact/42"), as routes do.
        concrete = f"{recorded.method} {recorded.path}"
        delays, fault = self.faults.pick(recorded.route, concrete, recorded.number, overall)
        for delay in delays:
            await asyncio.sleep(delay.seconds)
        recorded.fault = fault
        if fault is not None and fault.kind not in AFTER_WRITE:
            if fault.kind is FaultKind.STATUS:
                return _fault_response(fault)
            if fault.kind is FaultKind.HANG:
                await self._closing.wait()
            raise _Drop
        try:
            check_authorization(
                request.headers.get("Authorization"),
                api_key=self.api_key,
                secret_id=self.secret_id,
                secret_key=self._secret_key,
                now=self._jwt_clock(),
            )
        except Unauthorized as exc:
            return _error(401, "unauthorized", str(exc))
        started = time.process_time()
        try:
            response = await handler(request)
        except rules.BadData as exc:
            response = _error(400, "bad_data", str(exc))
        except web.HTTPException as exc:
            slug = exc.reason.lower().replace(" ", "_")
            response = _error(exc.status, slug, exc.text or exc.reason)
        recorded.handler_cpu = time.process_time() - started
        if fault is None:
            return response
        if fault.kind is FaultKind.FAIL_AFTER_WRITE:
            return _fault_response(fault)
        if fault.kind is FaultKind.NOT_JSON:
            body, content_type = fault.error_body(reason_phrase(fault.code))
            return web.Response(status=fault.code, body=body, content_type=content_type)
        if fault.kind is FaultKind.TRUNCATE and isinstance(response, web.Response):
            await _send_truncated(request, response)
        raise _Drop

    # -- helpers ----------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> dict[str, Any]:
        data = await self._any_body(request)
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise rules.BadData("the body must be a JSON object")
        return data

    async def _any_body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw.strip():
            return None
        try:
            return decode_json(raw)
        except NotJSON:
            raise rules.BadData("malformed JSON body") from None

    def _write(self, record: Record, given: dict[str, Any], *, overwrite: bool) -> Record:
        """A PUT's merge: given fields replace stored ones; ``custom`` merges unless
        ``overwrite``."""
        new = dict(record.fields)
        if "custom" in given and not overwrite:
            given["custom"] = {**record.fields.get("custom", {}), **given["custom"]}
        new.update(given)
        _sync_channels(record.fields, new)
        return self.store.replace(record.id, new)

    def _lookup(self, body: Mapping[str, Any]) -> Record:
        """The contact named by ``{"id"}`` (an int or a digit string) or ``{"phone"}``."""
        has_id, has_phone = body.get("id") is not None, body.get("phone") is not None
        if has_id == has_phone:
            raise rules.BadData("give either id or phone")
        if has_phone:
            found = self.store.find_channel("phone", rules.phone(body["phone"]))
            record = self.store.get(found[0]) if found else None
        else:
            record = self.store.get(rules.contact_id(body["id"]))
        if record is None:
            raise _not_found("no such contact")
        return record

    def _tag_id(self, request: web.Request) -> int:
        raw = request.match_info["id"]
        tag_id = _path_id(raw)
        if tag_id is None or tag_id not in self.tags:
            raise _not_found(f"tag {raw} not found")
        return tag_id

    def _create_v2(self, body: Mapping[str, Any]) -> Record:
        channels = rules.channels(body.get("contact_channels"), required=True)
        fields = rules.contact_fields(body, phone_required=False)
        for kind in ("phone", "email"):
            if fields.get(kind) is None:
                first = next((c["channel_id"] for c in channels if c["channel_type"] == kind), None)
                if first is not None:
                    fields[kind] = first
        fields["contact_channels"] = channels
        return self.store.create(_new_fields(fields))

    def _v1_record(self, request: web.Request) -> Record:
        raw = request.match_info["id"]
        contact_id = _path_id(raw)
        record = None if contact_id is None else self.store.get(contact_id)
        if record is None:
            raise _not_found(f"contact {raw} not found")
        return record

    def _v2_record(self, request: web.Request) -> Record:
        raw = request.match_info["uuid"]
        record = self._by_uuid(raw)
        if record is None:
            raise _not_found(f"contact {raw} not found")
        return record

    def _by_uuid(self, value: str) -> Record | None:
        contact_id = self.store.id_for_uuid(value)
        return None if contact_id is None else self.store.get(contact_id)

    # -- v1 ---------------------------------------------------------------------------------

    async def _v1_create(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        fields = rules.contact_fields(body, phone_required=True)
        return _ref(self.store.create(_new_fields(fields)))

    async def _v1_get(self, request: web.Request) -> web.StreamResponse:
        return _raw(self.store.render(self._v1_record(request).id))

    async def _v1_get_by(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        if body.get("phone") is not None:
            phone = rules.phone(body["phone"])
            found = self.store.find_channel("phone", phone)
            if not found:
                raise _not_found("no contact with this phone")
            return _raw(self.store.render(found[0]))
        if body.get("id") is None:
            raise rules.BadData("give phone or id")
        contact_id = rules.contact_id(body["id"])
        if contact_id not in self.store:
            raise _not_found(f"contact {contact_id} not found")
        return _raw(self.store.render(contact_id))

    async def _v1_update(self, request: web.Request) -> web.StreamResponse:
        record = self._v1_record(request)
        overwrite = _overwrite(request)
        body = await self._body(request)
        given = rules.contact_fields(body, phone_required=True)
        return _ref(self._write(record, given, overwrite=overwrite))

    async def _v1_delete(self, request: web.Request) -> web.StreamResponse:
        self.store.delete(self._v1_record(request).id)
        return _json("ok")

    async def _v1_list(self, request: web.Request) -> web.StreamResponse:
        date = rules.date(await self._body(request))
        ids = self.store.v1_page(
            date,
            newest_first=self.v1_order == "newest_first",
            inclusive=self.v1_cursor_inclusive,
            size=self.v1_page_size,
        )
        return _raw(self.store.render_list(ids))

    async def _v1_count(self, request: web.Request) -> web.StreamResponse:
        date = rules.date(await self._body(request))
        return _json(str(self.store.count_after(date)))

    async def _v1_fields(self, request: web.Request) -> web.StreamResponse:
        await self._body(request)
        return _json({"fields": [{"id": i, "name": n} for i, n in self.contact_fields]})

    async def _v1_status(self, request: web.Request) -> web.StreamResponse:
        record = self._lookup(await self._body(request))
        return _json(
            {
                "id": record.id,
                "phone": record.fields.get("phone"),
                "unsubscribed": bool(record.fields.get("is_opted_out")),
                "blocked": record.id in self.blocked,
            }
        )

    async def _v1_set_status(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        status = body.get("status")
        if status not in rules.STATUSES:
            raise rules.BadData(f"status must be one of {', '.join(rules.STATUSES)}")
        record = self._lookup(body)
        if status in ("blocked", "unblocked", "active"):
            if status == "blocked":
                self.blocked.add(record.id)
            else:
                self.blocked.discard(record.id)
        opted_out = {"unsubscribed": True, "subscribed": False, "active": False}.get(status)
        if opted_out is not None and bool(record.fields.get("is_opted_out")) != opted_out:
            self._write(record, {"is_opted_out": opted_out}, overwrite=False)
        return _json("success")

    async def _v1_create_fields(self, request: web.Request) -> web.StreamResponse:
        titles = rules.field_titles(await self._any_body(request))
        next_id = max((i for i, _ in self.contact_fields), default=0) + 1
        created = []
        for title in titles:
            self.contact_fields.append((next_id, title))
            created.append({"id": next_id, "name": title})
            next_id += 1
        return _json({"fields": created})

    async def _v1_batch(self, request: web.Request) -> web.StreamResponse:
        overwrite = _overwrite(request)
        body = await self._any_body(request)
        if not isinstance(body, list) or not body:
            raise rules.BadData("the body must be a non-empty array of contacts")
        failed = []
        for item in body:
            try:
                if not isinstance(item, dict):
                    raise rules.BadData("each contact must be an object")
                given = rules.contact_fields(item, phone_required=True)
            except rules.BadData as exc:
                echo = item if isinstance(item, dict) else {"contact": item}
                failed.append({**echo, "error": str(exc)})
                continue
            existing = self.store.find_channel("phone", given["phone"])
            if existing:
                record = self.store.get(existing[0])
                assert record is not None
                self._write(record, given, overwrite=overwrite)
            else:
                self.store.create(_new_fields(given))
        return _json(failed if failed else "ok")

    async def _v1_tag_create(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        name, color = body.get("name"), body.get("color")
        if not isinstance(name, str) or not name.strip():
            raise rules.BadData("name must be a non-empty string")
        if color is not None and not isinstance(color, str):
            raise rules.BadData("color must be a string")
        return _json(self.tags.as_json(self.tags.create(name, color)))

    async def _v1_tag_get(self, request: web.Request) -> web.StreamResponse:
        return _json(self.tags.as_json(self._tag_id(request)))

    async def _v1_tag_delete(self, request: web.Request) -> web.StreamResponse:
        self.tags.delete(self._tag_id(request))
        return _json("ok")

    async def _v1_tags(self, request: web.Request) -> web.StreamResponse:
        date = rules.date(await self._body(request))
        return _json([self.tags.as_json(i) for i in self.tags.page(date, self.tag_page_size)])

    # -- v2 ---------------------------------------------------------------------------------

    async def _v2_get(self, request: web.Request) -> web.StreamResponse:
        return _raw(self.store.render(self._v2_record(request).id))

    async def _v2_create(self, request: web.Request) -> web.StreamResponse:
        return _ref(self._create_v2(await self._body(request)))

    async def _v2_list(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        limit = rules.integer(body, "limit", self.v2_default_limit, 1, self.v2_max_limit)
        page = rules.integer(body, "page", 0, 0, None)
        ascending = rules.boolean(body, "ascending", False)
        ids = self.store.v2_page(rules.date(body), limit=limit, page=page, ascending=ascending)
        return _raw(self.store.render_list(ids))

    async def _v2_search(self, request: web.Request) -> web.StreamResponse:
        found: dict[int, None] = {}
        for kind, value in rules.search_values(await self._body(request)):
            for contact_id in self.store.find_channel(kind, value):
                found[contact_id] = None
        return _raw(self.store.render_list(list(found)))

    async def _v2_add_channel(self, request: web.Request) -> web.StreamResponse:
        record = self._v2_record(request)
        channel = rules.channel(await self._body(request))
        channels = list(record.fields.get("contact_channels") or ())
        if channel not in channels:
            new = dict(record.fields)
            new["contact_channels"] = [*channels, channel]
            record = self.store.replace(record.id, new)
        return _json(record.fields["contact_channels"])

    async def _v2_update(self, request: web.Request) -> web.StreamResponse:
        record = self._v2_record(request)
        given = rules.contact_fields(await self._body(request), phone_required=False)
        return _raw(self.store.render(self._write(record, given, overwrite=False).id))

    async def _v2_delete(self, request: web.Request) -> web.StreamResponse:
        self.store.delete(self._v2_record(request).id)
        return _json("ok")

    async def _v2_update_channel(self, request: web.Request) -> web.StreamResponse:
        record = self._v2_record(request)
        channel = rules.channel(await self._body(request))
        kind = channel["channel_type"]
        channels = [
            c for c in record.fields.get("contact_channels") or () if c["channel_type"] != kind
        ]
        new = {**record.fields, "contact_channels": [*channels, channel]}
        if kind in ("phone", "email"):
            new[kind] = channel["channel_id"]
        _sync_channels(record.fields, new)
        return _json(self.store.replace(record.id, new).fields["contact_channels"])

    async def _v2_bulk(self, request: web.Request) -> web.StreamResponse:
        items = (await self._body(request)).get("contacts")
        if not isinstance(items, list) or not items:
            raise rules.BadData("contacts must be a non-empty array")
        done: list[int] = []
        failed = []
        for item in items:
            try:
                if not isinstance(item, dict):
                    raise rules.BadData("each contact must be an object")
                if item.get("uuid") is None:
                    done.append(self._create_v2(item).id)
                    continue
                record = self._by_uuid(str(item["uuid"]))
                if record is None:
                    raise rules.BadData(f"no contact with uuid {item['uuid']}")
                given = rules.contact_fields(item, phone_required=False)
                if item.get("contact_channels") is not None:
                    added = rules.channels(item["contact_channels"], required=False)
                    old = list(record.fields.get("contact_channels") or ())
                    given["contact_channels"] = old + [c for c in added if c not in old]
                done.append(self._write(record, given, overwrite=False).id)
            except rules.BadData as exc:
                echo = item if isinstance(item, dict) else {"contact": item}
                failed.append({**echo, "error": str(exc)})
        failed_json = json.dumps(failed, separators=(",", ":")).encode()
        return _raw(
            b'{"contacts":'
            + self.store.render_list(done)
            + b',"failed_contacts":'
            + failed_json
            + b"}"
        )

    async def _v2_bulk_delete(self, request: web.Request) -> web.StreamResponse:
        uuids = (await self._body(request)).get("contacts")
        if not isinstance(uuids, list) or not uuids:
            raise rules.BadData("contacts must be a non-empty array of UUIDs")
        failed = []
        for value in uuids:
            contact_id = self.store.id_for_uuid(value) if isinstance(value, str) else None
            if contact_id is None:
                failed.append({"uuid": value, "error": "not found"})
            else:
                self.store.delete(contact_id)
        return _json({"failed_contacts": failed} if failed else "ok")


def listening_url(addresses: Sequence[Any]) -> tuple[str, int]:
    """The base URL and port of a site listening on ``addresses`` (``AppRunner.addresses``).

    IPv6 hosts are bracketed; a host listening on both families (``localhost``) is reached by
    its IPv4 address, which every client can use.
    """
    ipv4 = [a for a in addresses if ":" not in a[0]]
    host, port = (ipv4 or addresses)[0][:2]
    return str(URL.build(scheme="http", host=host, port=port)), port


def _path_id(raw: str) -> int | None:
    """The id in a path such as ``/v1/contact/42``; ``None`` if it cannot be one."""
    if not (raw.isascii() and raw.isdigit()):
        return None
    try:
        return int(raw)
    except ValueError:  # more digits than int() takes: no contact's id
        return None


def _overwrite(request: web.Request) -> bool:
    overwrite = request.query.get("overwrite", "false").lower()
    if overwrite not in ("true", "false"):
        raise rules.BadData("overwrite must be true or false")
    return overwrite == "true"


def _not_found(message: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(reason="Not Found", text=message)


def _fault_response(fault: Fault) -> web.Response:
    reason = reason_phrase(fault.code)
    body, content_type = fault.error_body(reason)
    response = web.Response(status=fault.code, body=body, content_type=content_type)
    if fault.retry_after is not None:
        response.headers["Retry-After"] = fault.retry_after
    return response


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.close()


async def _send_truncated(request: web.Request, response: web.Response) -> None:
    body = response.body
    data = body if isinstance(body, bytes) else b""
    stream = web.StreamResponse(status=response.status)
    stream.content_type = _JSON
    stream.content_length = max(len(data), 2)
    await stream.prepare(request)
    await stream.write(data[: len(data) // 2])


async def _add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["X-Request-Id"] = uuid_module.uuid4().hex
