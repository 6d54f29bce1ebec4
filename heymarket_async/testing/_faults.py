"""Scriptable faults: what goes wrong, on which route, and on which requests.

::

    fake.faults.add("POST /v1/contacts", Fault.status(503, body="html"), on=[2, 5])
    fake.faults.add("*", Fault.rate_limited(retry_after=1), times=1)
    fake.faults.add("POST /v1/contact", Fault.fail_after_write())   # a create applied, then 500
    fake.faults.add("POST /v2/contacts/list", Fault.hang(), on=[3])  # the 3rd list page hangs

A request's number is its position on its route (``"GET /v1/contact/{id}"`` counts every
contact id), from 1; for rules on ``"*"`` it is its position among all requests.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, Final

import attrs

from ._routes import ROUTES


class FaultKind(enum.Enum):
    """What a :class:`Fault` does. ``AFTER_WRITE`` kinds run the handler first."""

    LATENCY = "latency"
    STATUS = "status"
    DROP = "drop"
    HANG = "hang"
    FAIL_AFTER_WRITE = "fail_after_write"
    DROP_AFTER_WRITE = "drop_after_write"
    TRUNCATE = "truncate"
    NOT_JSON = "not_json"


AFTER_WRITE: Final = frozenset(
    {FaultKind.FAIL_AFTER_WRITE, FaultKind.DROP_AFTER_WRITE, FaultKind.TRUNCATE, FaultKind.NOT_JSON}
)

_HTML: Final = (
    "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}"
    "</h1></center><hr><center>nginx</center></body></html>"
)


@attrs.frozen(kw_only=True)
class Fault:
    """One thing that goes wrong with a request. Build them with the class methods."""

    kind: FaultKind
    #: The status answered (status, fail-after-write and not-JSON faults).
    code: int = 500
    #: ``"json"``, ``"html"``, ``"empty"``, or the literal body text.
    body: str = "json"
    retry_after: str | None = None
    seconds: float = 0.0

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """Wait ``seconds`` (with the fake's ``sleep``: real time by default) before handling
        the request normally."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        return cls(kind=FaultKind.LATENCY, seconds=seconds)

    @classmethod
    def status(
        cls, status: int, *, body: str = "json", retry_after: float | str | None = None
    ) -> Fault:
        """Answer ``status`` without touching the store.

        ``body``: ``"json"`` (``{"error": ..., "message": ...}``), ``"html"`` (a proxy's error
        page), ``"empty"``, or any other text, sent as it is. ``retry_after`` sets the
        ``Retry-After`` header (seconds, or an HTTP date string).
        """
        if not 400 <= status <= 599:
            raise ValueError(f"a fault status is 4xx or 5xx, got {status}")
        return cls(
            kind=FaultKind.STATUS,
            code=status,
            body=body,
            retry_after=None if retry_after is None else _retry_after(retry_after),
        )

    @classmethod
    def rate_limited(cls, *, retry_after: float | str | None = None) -> Fault:
        """429 with a JSON body, with or without ``Retry-After``."""
        return cls.status(429, retry_after=retry_after)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection before answering; the store is not touched."""
        return cls(kind=FaultKind.DROP)

    @classmethod
    def hang(cls) -> Fault:
        """Never answer: the client waits until it gives up (its timeout).

        The server side keeps waiting after that (it counts in ``fake.in_flight``) until the
        fake closes, which drops the connection and leaves no task behind. One request of a
        walk: ``fake.faults.add("POST /v2/contacts/list", Fault.hang(), on=[3])``.
        """
        return cls(kind=FaultKind.HANG)

    @classmethod
    def fail_after_write(cls, status: int = 500, *, body: str = "json") -> Fault:
        """Handle the request (a write is applied), then answer ``status`` instead."""
        return attrs.evolve(cls.status(status, body=body), kind=FaultKind.FAIL_AFTER_WRITE)

    @classmethod
    def drop_after_write(cls) -> Fault:
        """Handle the request (a write is applied), then close the connection unanswered."""
        return cls(kind=FaultKind.DROP_AFTER_WRITE)

    @classmethod
    def truncated(cls) -> Fault:
        """Handle the request, then send half the body and close (``Content-Length`` lies)."""
        return cls(kind=FaultKind.TRUNCATE)

    @classmethod
    def not_json(cls, status: int = 200) -> Fault:
        """Handle the request, then answer ``status`` with an HTML body instead of JSON."""
        return cls(kind=FaultKind.NOT_JSON, code=status, body="html")

    def to_json(self) -> dict[str, Any]:
        """The fault as JSON, the form ``POST /_emulator/faults`` takes (``"fault": ...``)."""
        return {
            "kind": self.kind.value,
            "code": self.code,
            "body": self.body,
            "retry_after": self.retry_after,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """A fault from :meth:`to_json`'s form (keys left out take their defaults, so
        ``{"kind": "status", "code": 429, "retry_after": 1}`` will do); ``ValueError`` for
        a kind, status or value that no class method would make."""
        try:
            kind = FaultKind(data.get("kind"))
        except ValueError:
            kinds = ", ".join(k.value for k in FaultKind)
            raise ValueError(f"a fault's kind is one of {kinds}: {data.get('kind')!r}") from None
        code, body = data.get("code", 500), data.get("body", "json")
        retry_after, seconds = data.get("retry_after"), data.get("seconds", 0.0)
        if isinstance(code, bool) or not isinstance(code, int):
            raise ValueError(f"a fault's code is an int: {code!r}")
        if not isinstance(body, str):
            raise ValueError(f"a fault's body is a string: {body!r}")
        if retry_after is not None and (
            isinstance(retry_after, bool) or not isinstance(retry_after, (str, int, float))
        ):
            raise ValueError(f"retry_after is seconds or a date string: {retry_after!r}")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ValueError(f"a fault's seconds is a number: {seconds!r}")
        if kind is FaultKind.LATENCY:
            return cls.latency(seconds)
        if kind is FaultKind.STATUS:
            return cls.status(code, body=body, retry_after=retry_after)
        if kind is FaultKind.FAIL_AFTER_WRITE:
            return cls.fail_after_write(code, body=body)
        if kind is FaultKind.NOT_JSON:
            return cls.not_json(code)
        return cls(kind=kind)

    def error_body(self, reason: str) -> tuple[bytes, str]:
        """The body and content type of a status fault."""
        if self.body == "json":
            text = (
                f'{{"error":"{reason.lower().replace(" ", "_")}",'
                f'"message":"injected fault: {self.code} {reason}"}}'
            )
            return text.encode(), "application/json"
        if self.body == "html":
            return _HTML.format(status=self.code, reason=reason).encode(), "text/html"
        if self.body == "empty":
            return b"", "text/plain"
        return self.body.encode(), "text/plain"


def reason_phrase(code: int) -> str:
    """The reason phrase of ``code``; ``"Unknown Status"`` for a code ``http`` does not name
    (499, Cloudflare's 520-526, 599...)."""
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown Status"


def _retry_after(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@attrs.define(kw_only=True)
class FaultRule:
    """A fault on a route, with when it fires. ``fired`` counts how often it has."""

    route: str
    fault: Fault
    on: frozenset[int] | None = None
    times: int | None = None
    every: int | None = None
    probability: float | None = None
    rng: random.Random = attrs.field(factory=random.Random, repr=False)
    fired: int = 0

    def matches(self, route: str, path: str, number: int) -> bool:
        """Whether the rule fires on request ``number`` of ``route`` (``"GET /v1/contact/{id}"``)
        at ``path``, the method and concrete path (``"GET /v1/contact/42"``)."""
        if self.route != "*" and self.route not in (route, path):
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.on is not None and number not in self.on:
            return False
        if self.every is not None and number % self.every:
            return False
        # The coin is tossed only for requests that pass every other test, so a seed gives
        # the same faults on the same requests whatever else is configured.
        return self.probability is None or self.rng.random() < self.probability


def check_route(route: str) -> str:
    """``route`` if it is ``"*"``, a route template of :data:`ROUTES`, or a concrete path."""
    if route == "*" or route in ROUTES:
        return route
    method, _, path = route.partition(" ")
    if method in {"GET", "POST", "PUT", "DELETE"} and path.startswith("/") and "{" not in path:
        return route
    raise ValueError(f"unknown route {route!r}: use '*', 'METHOD /path', or one of {ROUTES}")


class Faults:
    """The fault rules of one emulator; ``fake.faults``."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def add(
        self,
        route: str,
        fault: Fault,
        *,
        on: Iterable[int] | None = None,
        times: int | None = None,
        every: int | None = None,
        probability: float | None = None,
        seed: int = 0,
    ) -> FaultRule:
        """Make ``fault`` happen on ``route``; without conditions, on every request.

        - ``on``: only these request numbers (1 is the route's first request).
        - ``times``: at most this many times (``times=2`` alone: the next two requests).
        - ``every``: every n-th request (``every=3``: requests 3, 6, 9...).
        - ``probability`` (with ``seed``): each request that passes the others, at random
          but reproducibly.

        ``route`` is ``"*"``, a template such as ``"GET /v1/contact/{id}"``, or a concrete
        ``"GET /v1/contact/42"``. Rules are tried in the order added: every matching latency
        rule applies, then the first other matching rule.
        """
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        for name, value in (("times", times), ("every", every)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1")
        rule = FaultRule(
            route=check_route(route),
            fault=fault,
            on=None if on is None else frozenset(on),
            times=times,
            every=every,
            probability=probability,
            rng=random.Random(seed),
        )
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()

    def pick(
        self, route: str, path: str, number: int, overall: int
    ) -> tuple[list[Fault], Fault | None]:
        """The latency faults and the one other fault (if any) for this request.

        ``route`` is its template and ``path`` its method and concrete path, as rules name
        them (``"GET /v1/contact/{id}"``, ``"GET /v1/contact/42"``).
        """
        delays: list[Fault] = []
        chosen: Fault | None = None
        for rule in self.rules:
            if chosen is not None and rule.fault.kind is not FaultKind.LATENCY:
                continue
            n = overall if rule.route == "*" else number
            if rule.matches(route, path, n):
                rule.fired += 1
                if rule.fault.kind is FaultKind.LATENCY:
                    delays.append(rule.fault)
                else:
                    chosen = rule.fault
        return delays, chosen
