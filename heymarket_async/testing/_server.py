"""``FakeHeymarket``: the in-process emulator, an aiohttp.web app on 127.0.0.1.

This module has the fake's options, lifecycle and test-facing writes, and the pipeline every
request goes through (recording, hooks, latency, faults, authorization); the endpoints are in
:mod:`._v1_routes` and :mod:`._v2_routes`, registered from :data:`._routes.TABLE`.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs
from aiohttp import web
from yarl import URL

from ._auth import Unauthorized, check_authorization, credential_of
from ._churn import LIST_PATHS, Change, Churn
from ._clock import FakeClock, to_micros
from ._contacts import new_fields, sync_channels
from ._control import CONTROL_PREFIX, add_control_routes, too_many_requests
from ._dispatch import (
    Drop,
    Handler,
    add_request_id,
    drop_connection,
    fault_after,
    fault_before,
    run_endpoint,
)
from ._faults import AFTER_WRITE, Fault, Faults
from ._http import error_response
from ._json import decode_json_or_none
from ._limits import Latency, Limits, RateLimitRule, RateLog, key_hash
from ._routes import TABLE
from ._store import ContactStore, ContactsView, CursorResolution, TagStore
from ._ties import TIE_ORDERS, Reorder, TieOrder, reorder_for
from ._timestamps import TimestampFormat
from ._v1_routes import V1Routes
from ._v2_routes import V2Routes

if TYPE_CHECKING:
    from heymarket_async import HeymarketClient

V1Order = Literal["newest_first", "oldest_first"]

#: The first ``updated`` of seeded contacts unless ``seed(start=...)`` says otherwise.
DEFAULT_SEED_START: Final = datetime(2025, 1, 1, tzinfo=timezone.utc)
DEFAULT_CONTACT_FIELDS: Final = ((123, "Plan"), (456, "Renewal Date"))


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
      times keep microseconds; they are rendered truncated.
    - ``cursor_resolution``: ``"rendered"`` (default): contacts are ordered, tied and compared
      with ``date`` cursors (v1 and v2 lists, counts) at the rendered resolution, so contacts
      that render alike tie. ``"microseconds"``: at every stored microsecond, while
      ``updated`` is still rendered at ``timestamp_format``, as an SQL server that stores
      microseconds and renders milliseconds does. A cursor ``...12.345Z`` then means
      12.345000: an exclusive cursor drops a contact stored at exactly 12.345000 but keeps
      one at 12.345678, though both render ``...12.345Z``. Seeds with a sub-millisecond
      ``step`` (``fake.seed(n, step=0.0003)``) or a clock with a ``tick`` make such contacts.
      Fixed at construction.
    - ``tie_order``: the order of contacts that tie on the compared ``updated`` in list
      answers (``/v1/contacts`` and ``/v2/contacts/list``, both directions, any offset).
      ``"stable"`` (default): by id, ascending in oldest-first lists and descending in
      newest-first ones. ``"reversed"``: every even-numbered list request (counted across both
      routes, :attr:`list_requests`) reverses that order within each tie group.
      ``"shuffled"``: each list request orders each tie group by its own random permutation,
      reproducible from the fake's ``seed`` and the request's number. Either models an SQL
      ``ORDER BY updated LIMIT/OFFSET`` without a tie-breaker: a page is a slice of the list
      as that request orders it, so a walk by offsets may repeat or skip tied contacts.
    - ``clock``: a :class:`FakeClock` (default: one running with real time) stamping every
      write; freeze it to make ``updated`` ties on purpose.
    - ``latency``: seconds added before every request is answered, or a :class:`Latency`
      with a seeded random jitter; awaited with ``sleep`` (default ``asyncio.sleep``; a test
      may pass one that advances its clock instead). Settable later (:attr:`latency`).
    - ``rate_limit``: a :class:`RateLimitRule`, the budget of requests per window of each
      credential (the API key; a secret pair, whatever JWTs it signs), counted on ``clock``
      as requests arrive, before the latency; a request over it is answered 429
      ``{"error": "too_many_requests"}`` after the latency, with ``Retry-After`` unless the
      rule says not, and reaches no fault or endpoint. Requests without a valid credential
      are not counted (they are answered 401). While a rule is set, every arrival goes in
      :attr:`rate_log`. Settable later (:attr:`rate_limit`).
    - ``contact_fields``: the ``(id, name)`` pairs ``POST /v1/contact-fields`` answers.
    - ``jwt_clock``: the wall clock against which a JWT's ``iat`` is checked. Default
      ``time.time``, the real time, because clients sign with the real time whatever the fake
      clock says.
    - ``record_limit``: keep only the last n requests in :attr:`requests` (``None``: all).
    - ``tag_page_size``: tags per ``POST /v1/tags`` page (30).
    - ``extra_fields``: fields the SDK does not know, served on every contact in every v1 and
      v2 answer (lists, gets, writes' answers, :attr:`contacts`), after the contact's own
      keys, with the values exactly as given (``{"loyalty_tier": "gold"}``); settable later
      (:attr:`extra_fields`). One contact's own unknown field: ``add_contact(..., tier=2)``.

    Live data, for tests of paging while contacts change: :meth:`churn` updates, creates and
    deletes random contacts before each list request (or at a rate of real time) and logs
    each change in :attr:`changes`; :meth:`on_request` hooks run any other change. To make a
    given request hang until the client gives up, script it:
    ``fake.faults.add("POST /v2/contacts/list", Fault.hang(), on=[3])`` (the third list
    request, counted from 1 on that route; the fake releases it when it closes).

    Choices where the docs are silent: a PUT keeps the fields its body leaves out (names
    given are overwritten; ``custom`` merges unless ``?overwrite=true``); creates never
    conflict (two contacts may share a phone; lookups return the lowest id); every read, v1
    and v2, includes ``uuid`` and ``contact_channels``; ``DELETE`` answers ``"ok"``; error
    bodies are ``{"error": "<slug>", "message": "..."}``. Each endpoint's own choices are in
    the docstrings of :mod:`heymarket_async.testing._v1_routes` and ``_v2_routes``.

    Observation: :attr:`requests` (:class:`RecordedRequest`), :attr:`in_flight`,
    :attr:`peak_in_flight`; :attr:`contacts` is a read-only ``{id: contact JSON}`` view
    (iterating in ``(updated, id)`` order); :attr:`faults` scripts failures
    (:class:`Faults`); :attr:`clock` is the :class:`FakeClock`; :attr:`rate_log` has the
    arrivals under a rate limit. A process of its own is driven through ``/_emulator/``
    routes (:mod:`heymarket_async.testing._control`): faults, limits, latency, the log.

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
        cursor_resolution: CursorResolution = "rendered",
        tie_order: TieOrder = "stable",
        clock: FakeClock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float | Latency = 0.0,
        rate_limit: RateLimitRule | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        contact_fields: Sequence[tuple[int, str]] = DEFAULT_CONTACT_FIELDS,
        seed: int = 0,
        jwt_clock: Callable[[], float] = time.time,
        record_limit: int | None = None,
        tag_page_size: int = 30,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> None:
        _check_options(
            v1_order=v1_order,
            tie_order=tie_order,
            api_key=api_key,
            secret_id=secret_id,
            secret_key=secret_key,
            sizes={
                "v1_page_size": v1_page_size,
                "v2_default_limit": v2_default_limit,
                "v2_max_limit": v2_max_limit,
                "tag_page_size": tag_page_size,
            },
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
        self.cursor_resolution: CursorResolution = cursor_resolution
        self.tie_order: TieOrder = tie_order
        self.clock = clock if clock is not None else FakeClock()
        self.host = host
        self.port = port
        self.contact_fields = [(int(i), str(n)) for i, n in contact_fields]
        self._jwt_clock = jwt_clock
        self.tag_page_size = tag_page_size
        self._init_state(seed=seed, record_limit=record_limit)
        self._limits = Limits(clock=self.clock.peek, sleep=sleep, rule=rate_limit, latency=latency)
        if extra_fields:
            self.extra_fields = extra_fields

    def _init_state(self, *, seed: int, record_limit: int | None) -> None:
        """The stores, the recording and the server, empty (the switches are set)."""
        self.store = ContactStore(
            clock=self.clock,
            timestamp_format=self.timestamp_format,
            field_ids=[i for i, _ in self.contact_fields],
            seed=seed,
            cursor_resolution=self.cursor_resolution,
        )
        self.contacts = ContactsView(self.store)
        self.tags = TagStore(clock=self.clock, timestamp_format=self.timestamp_format)
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
        #: The list requests (``POST /v1/contacts``, ``POST /v2/contacts/list``) that reached
        #: their endpoint; the n-th is list request n for ``tie_order``.
        self.list_requests = 0
        self._total = 0
        self._hooks: list[Callable[[RecordedRequest], Awaitable[None] | None]] = []
        self._clients: list[HeymarketClient] = []
        #: Every change made by :meth:`churn`, oldest first (:class:`Change`).
        self.changes: list[Change] = []
        self._churn: Churn | None = None
        self._churn_task: asyncio.Task[None] | None = None
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
        app.on_response_prepare.append(add_request_id)
        add_control_routes(app, self)
        handlers = {"v1": V1Routes(self), "v2": V2Routes(self)}
        for route in TABLE:
            handler: Handler = getattr(handlers[route.api], route.handler)
            if route.method == "GET":
                app.router.add_get(route.path, handler)  # with HEAD, as aiohttp does
            else:
                app.router.add_route(route.method, route.path, handler)
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
        """Close the clients made by :meth:`client`, release hung requests, stop listening;
        stop a time-driven :meth:`churn`."""
        self._closing.set()
        await self._stop_churn()
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

    @property
    def latency(self) -> Latency:
        """The added latency; assign seconds or a :class:`Latency` (its jitter draws restart
        from its seed)."""
        return self._limits.latency

    @latency.setter
    def latency(self, latency: float | Latency) -> None:
        self._limits.latency = latency

    @property
    def rate_limit(self) -> RateLimitRule | None:
        """The :class:`RateLimitRule` enforced (``None``: no limit). Assigning one starts
        every key's count afresh; :attr:`rate_log` is kept."""
        return self._limits.rule

    @rate_limit.setter
    def rate_limit(self, rule: RateLimitRule | None) -> None:
        self._limits.rule = rule

    @property
    def rate_log(self) -> RateLog:
        """Every arrival while a rate limit was set (:class:`RateLog`); also served at
        ``GET /_emulator/rate-log`` for a benchmark in another process."""
        return self._limits.log

    @property
    def extra_fields(self) -> dict[str, Any]:
        """The fields served on every contact besides its own (a copy; assign to change)."""
        return self.store.extra_fields

    @extra_fields.setter
    def extra_fields(self, fields: Mapping[str, Any]) -> None:
        self.store.set_extra_fields(fields)

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
        repeated, e.g. ``[1, 1, 50]``). ``step`` may be a fraction of a millisecond
        (``0.0003``): with ``cursor_resolution="microseconds"`` the contacts keep those times
        (every tenth at exactly ``.xxx000`` from a whole-second ``start``), else they are
        truncated to the rendered resolution. The same arguments always give the same contacts.
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
            new_fields(fields),
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

        With no fields, just touches the contact. ``KeyError`` for an unknown id; ``ValueError``
        for ``id`` or ``uuid``, which a contact keeps (every contact is served with both).
        """
        fixed = sorted({"id", "uuid"}.intersection(fields))
        if fixed:
            raise ValueError(f"a contact's {fixed[0]} cannot be changed")
        old = self.store.get(contact_id)
        if old is None:
            raise KeyError(contact_id)
        new = {**old.fields, **fields}
        sync_channels(old.fields, new)
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

    def churn(
        self,
        *,
        updates: int = 0,
        creates: int = 0,
        deletes: int = 0,
        routes: Sequence[str] = LIST_PATHS,
        seed: int = 0,
        stop_after: int | None = None,
        rate_per_second: float | None = None,
    ) -> None:
        """Change contacts while a client walks them: live data, reproducibly.

        Before each request on ``routes`` (paths such as ``"/v1/contacts"``, or routes as
        :meth:`Faults.add` names them; by default the two contact lists), once its hooks have
        run and before faults and latency: ``updates`` random contacts get a new version
        (``first`` changes, ``rev`` + 1, ``updated`` = the clock's now, so they move to the end
        of an oldest-first list), ``deletes`` others are removed, and ``creates`` new contacts
        are added. Seeded contacts are changed like written ones. ``stop_after``: only before
        the first n such requests. ``rate_per_second``: also update that many contacts per
        second of real time, from a task on the running loop (needs one; for benchmarks and
        the ``python -m heymarket_async.testing`` sandbox).

        Every change is appended to :attr:`changes` (:class:`Change`). ``seed`` makes the
        choices reproducible. A new call replaces the previous churn; ``fake.churn()`` with no
        changes stops it. A hung request (``Fault.hang()``) is churned before too.
        """
        churn = Churn(
            self.store,
            self.changes,
            updates=updates,
            creates=creates,
            deletes=deletes,
            routes=routes,
            seed=seed,
            stop_after=stop_after,
            rate_per_second=rate_per_second,
        )
        self._cancel_churn_task()
        self._churn = churn
        if rate_per_second is not None:
            self._churn_task = asyncio.get_running_loop().create_task(churn.run())

    def _cancel_churn_task(self) -> asyncio.Task[None] | None:
        task, self._churn_task = self._churn_task, None
        self._churn = None
        if task is not None:
            task.cancel()
        return task

    async def _stop_churn(self) -> None:
        task = self._cancel_churn_task()
        if task is not None:
            try:
                await task
            except asyncio.CancelledError:
                if not task.cancelled():  # pragma: no cover - we were cancelled ourselves
                    raise

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
        """Stop calling ``callback``; ``ValueError`` if it was not added."""
        self._hooks.remove(callback)

    def next_tie_order(self) -> Reorder | None:
        """Count a list request; how it orders ties (``None``: by id). For the list routes."""
        self.list_requests += 1
        return reorder_for(self.tie_order, self.list_requests, self.store.random_seed)

    def requests_to(self, route: str) -> list[RecordedRequest]:
        """The recorded requests on ``route`` (a template like ``"POST /v1/contacts"``)."""
        return [r for r in self.requests if route in (r.route, f"{r.method} {r.path}")]

    # -- the pipeline -----------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record the request, count it in flight, and run it through :meth:`_handle`."""
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)  # the emulator's own routes: not the API's
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
        except Drop:
            drop_connection(request)
            # The transport is closed: aiohttp writes nothing more on it.
            raise asyncio.CancelledError from None
        finally:
            self.in_flight -= 1
        recorded.status = response.status
        return response

    async def _handle(
        self, request: web.Request, handler: Handler, recorded: RecordedRequest, overall: int
    ) -> web.StreamResponse:
        """The rate limit, hooks, latency and faults, then the endpoint (if it is reached) and
        faults after it."""
        refused = self._limits.arrive(self._credential(request)) if self.rate_limit else None
        for hook in list(self._hooks):
            result = hook(recorded)
            if inspect.isawaitable(result):
                await result
        churn = self._churn if refused is None else None  # a refused one reaches no list
        if churn is not None and churn.wants(recorded.method, recorded.path, recorded.route):
            churn.before_request()
        await self._limits.delay()
        if refused is not None:
            return too_many_requests(self._limits.rule, refused)
        # Rules name a concrete path with its method ("GET /v1/contact/42"), as routes do.
        concrete = f"{recorded.method} {recorded.path}"
        delays, fault = self.faults.pick(recorded.route, concrete, recorded.number, overall)
        for delay in delays:
            await self._limits.sleep(delay.seconds)
        recorded.fault = fault
        if fault is not None and fault.kind not in AFTER_WRITE:
            return await fault_before(fault, self._closing)
        try:
            check_authorization(
                request.headers.get("Authorization"),
                api_key=self.api_key,
                secret_id=self.secret_id,
                secret_key=self._secret_key,
                now=self._jwt_clock(),
            )
        except Unauthorized as exc:
            return error_response(401, "unauthorized", str(exc))
        response, recorded.handler_cpu = await run_endpoint(handler, request)
        if fault is None:
            return response
        return await fault_after(request, response, fault)

    def _credential(self, request: web.Request) -> str | None:
        """The log's key for the request's valid credential, if it has one."""
        credential = credential_of(
            request.headers.get("Authorization"),
            api_key=self.api_key,
            secret_id=self.secret_id,
            secret_key=self._secret_key,
            now=self._jwt_clock(),
        )
        return None if credential is None else key_hash(credential)


def _check_options(
    *,
    v1_order: str,
    tie_order: str,
    api_key: str | None,
    secret_id: str | None,
    secret_key: str | None,
    sizes: Mapping[str, int],
) -> None:
    """``ValueError`` for constructor options that cannot work together."""
    if v1_order not in ("newest_first", "oldest_first"):
        raise ValueError(f"v1_order must be 'newest_first' or 'oldest_first': {v1_order!r}")
    if tie_order not in TIE_ORDERS:
        raise ValueError(f"tie_order must be one of {', '.join(TIE_ORDERS)}: {tie_order!r}")
    if (secret_id is None) != (secret_key is None):
        raise ValueError("secret_id and secret_key go together")
    if api_key is None and secret_id is None:
        raise ValueError("give an api_key, a secret_id and secret_key, or both")
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be >= 1")
    default, maximum = sizes["v2_default_limit"], sizes["v2_max_limit"]
    if default > maximum:
        raise ValueError(f"v2_default_limit ({default}) must be <= v2_max_limit ({maximum})")


def listening_url(addresses: Sequence[Any]) -> tuple[str, int]:
    """The base URL and port of a site listening on ``addresses`` (``AppRunner.addresses``).

    IPv6 hosts are bracketed; a host listening on both families (``localhost``) is reached by
    its IPv4 address, which every client can use.
    """
    ipv4 = [a for a in addresses if ":" not in a[0]]
    host, port = (ipv4 or addresses)[0][:2]
    return str(URL.build(scheme="http", host=host, port=port)), port
