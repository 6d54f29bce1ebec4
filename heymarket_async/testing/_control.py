"""The emulator's own HTTP routes, under ``/_emulator/``: what a test or a benchmark in another
process does through ``fake.faults``, ``fake.rate_limit``, ``fake.latency`` and
``fake.rate_log`` in process.

- ``GET /_emulator/rate-log[?since=n]``: ``{"entries": [[time, key, admitted], ...],
  "next": n, "rule": {...} | null}`` (:meth:`.RateLog.fetch` reads it); ``DELETE``
  forgets the arrivals.
- ``GET|PUT /_emulator/rate-limit``: the rule, ``{"requests": 500, "window": 60.0,
  "sliding": false, "retry_after": true, "count_refused": false}`` (keys left out take their
  defaults), or ``null`` for none. ``PUT`` starts every key's count afresh.
- ``GET|PUT /_emulator/latency``: ``{"seconds": 0.05, "jitter": 0.06, "seed": 0}``.
- ``GET /_emulator/faults``: the rules, each with how often it ``fired``; ``POST`` adds one,
  ``{"route": "*", "fault": {"kind": "status", "code": 429, "retry_after": 1}, "times": 1}``
  (``on``, ``every``, ``probability`` and ``seed`` as :meth:`.Faults.add` takes them; the
  fault as :meth:`.Fault.to_json` writes it); ``DELETE`` removes them all.

They need no credential, are not recorded, delayed, limited or faulted, and answer 400
``{"error": "bad_data", ...}`` for a body they cannot use. A test server's routes: do not
expose the emulator beyond loopback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import attrs
from aiohttp import web

from ._faults import Fault, FaultRule
from ._http import error_response, json_response, read_any
from ._json import NotJSON
from ._limits import Latency, RateLimitRule
from ._rules import BadData

if TYPE_CHECKING:
    from ._server import FakeHeymarket

CONTROL_PREFIX: Final = "/_emulator/"
_FAULT_OPTIONS: Final = ("on", "times", "every", "probability", "seed")

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def too_many_requests(rule: RateLimitRule | None, retry_after: int) -> web.Response:
    """The 429 of a request over the rate limit (``Retry-After`` if the rule sends it)."""
    response = error_response(429, "too_many_requests", f"rate limit exceeded: {rule}")
    if rule is None or rule.retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def rule_json(rule: RateLimitRule | None) -> dict[str, Any] | None:
    return None if rule is None else attrs.asdict(rule)


def fault_rule_json(rule: FaultRule) -> dict[str, Any]:
    return {
        "route": rule.route,
        "fault": rule.fault.to_json(),
        "on": None if rule.on is None else sorted(rule.on),
        "times": rule.times,
        "every": rule.every,
        "probability": rule.probability,
        "fired": rule.fired,
    }


class ControlRoutes:
    """The handlers of the ``/_emulator/`` routes of one fake."""

    def __init__(self, fake: FakeHeymarket) -> None:
        self._fake = fake

    async def rate_log(self, request: web.Request) -> web.Response:
        since = request.query.get("since", "0")
        if not (since.isascii() and since.isdigit()):
            raise BadData("since must be an int >= 0")
        fake = self._fake
        return json_response(
            {**fake.rate_log.to_json(int(since)), "rule": rule_json(fake.rate_limit)}
        )

    async def clear_rate_log(self, request: web.Request) -> web.Response:
        self._fake.rate_log.clear()
        return json_response("ok")

    async def get_rate_limit(self, request: web.Request) -> web.Response:
        return json_response(rule_json(self._fake.rate_limit))

    async def put_rate_limit(self, request: web.Request) -> web.Response:
        data = await read_any(request)
        if data is not None and not isinstance(data, dict):
            raise BadData("the body is a rule object or null")
        self._fake.rate_limit = None if data is None else _build(RateLimitRule, data)
        return await self.get_rate_limit(request)

    async def get_latency(self, request: web.Request) -> web.Response:
        return json_response(attrs.asdict(self._fake.latency))

    async def put_latency(self, request: web.Request) -> web.Response:
        data = await read_any(request)
        if not isinstance(data, dict):
            raise BadData('the body is an object such as {"seconds": 0.05}')
        self._fake.latency = _build(Latency, data)
        return await self.get_latency(request)

    async def get_faults(self, request: web.Request) -> web.Response:
        return json_response([fault_rule_json(rule) for rule in self._fake.faults.rules])

    async def add_fault(self, request: web.Request) -> web.Response:
        data = await read_any(request)
        if not isinstance(data, dict) or not isinstance(data.get("fault"), dict):
            raise BadData('the body is {"route": ..., "fault": {"kind": ...}, ...}')
        options = _fault_options(data)
        try:
            fault = Fault.from_json(data["fault"])
            rule = self._fake.faults.add(str(data.get("route", "*")), fault, **options)
        except (TypeError, ValueError) as exc:
            raise BadData(str(exc)) from None
        return json_response(fault_rule_json(rule))

    async def clear_faults(self, request: web.Request) -> web.Response:
        self._fake.faults.clear()
        return json_response("ok")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fault_options(data: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :meth:`.Faults.add` in a rule's JSON, type-checked."""
    unknown = set(data) - {"route", "fault", *_FAULT_OPTIONS}
    if unknown:
        raise BadData(f"unknown keys: {', '.join(sorted(unknown))}")
    options = {k: data[k] for k in _FAULT_OPTIONS if data.get(k) is not None}
    on = options.get("on")
    if on is not None and not (isinstance(on, list) and all(_is_int(n) for n in on)):
        raise BadData("on is an array of request numbers")
    for name in ("times", "every", "seed"):
        if name in options and not _is_int(options[name]):
            raise BadData(f"{name} is an int")
    probability = options.get("probability")
    if probability is not None and not (_is_int(probability) or isinstance(probability, float)):
        raise BadData("probability is a number")
    return options


def _build(cls: Callable[..., Any], data: dict[str, Any]) -> Any:
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise BadData(str(exc)) from None


def _answering_bad_data(handler: _Handler) -> _Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (BadData, NotJSON) as exc:
            return error_response(400, "bad_data", str(exc))

    return handle


def add_control_routes(app: web.Application, fake: FakeHeymarket) -> None:
    """Register the ``/_emulator/`` routes of ``fake`` on ``app``."""
    routes = ControlRoutes(fake)
    for method, name, handler in (
        ("GET", "rate-log", routes.rate_log),
        ("DELETE", "rate-log", routes.clear_rate_log),
        ("GET", "rate-limit", routes.get_rate_limit),
        ("PUT", "rate-limit", routes.put_rate_limit),
        ("GET", "latency", routes.get_latency),
        ("PUT", "latency", routes.put_latency),
        ("GET", "faults", routes.get_faults),
        ("POST", "faults", routes.add_fault),
        ("DELETE", "faults", routes.clear_faults),
    ):
        app.router.add_route(method, CONTROL_PREFIX + name, _answering_bad_data(handler))
