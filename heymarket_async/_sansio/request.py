"""A request as data: what the pipeline sends, and how safely it may be sent again."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

import attrs
from yarl import URL

from heymarket_async.models import UNSET, UnsetType

#: Heymarket's API; ``HEYMARKET_BASE_URL`` or ``base_url=`` point a client elsewhere.
DEFAULT_BASE_URL: Final = "https://api.heymarket.com"


def is_heymarket(base_url: str) -> bool:
    """Whether ``base_url`` is Heymarket's own API (not an emulator or a proxy)."""
    host = (URL(base_url).host or "").rstrip(".")  # "api.heymarket.com." is the same host
    return host == "heymarket.com" or host.endswith(".heymarket.com")


class Safety(enum.Enum):
    """What a request may do to the server, which decides when it may be sent again."""

    #: Reads, including Heymarket's POST reads: always safe to repeat.
    READ = "read"
    #: Writes that leave the same state when repeated (PUT, DELETE).
    IDEMPOTENT = "idempotent"
    #: Never sent again once it may have been applied: creates (a repeat would create twice),
    #: and the writes whose repeat would be taken for someone else's change or would report
    #: what the first attempt did as an error (``patch_contact``'s PUT, a bulk delete).
    ONCE = "once"


@attrs.frozen
class Endpoint:
    """One API operation, declared once beside the resource method that calls it.

    ``route`` is the path with its id as ``{id}`` (also the label hooks get); ``effect`` is
    what an attempt that may have been applied did, for the error of a ``ONCE`` write;
    ``gone_is_done``: a 404 after an attempt that may have been applied means the thing is
    already gone (a delete), so the call succeeded.
    """

    method: str
    route: str
    safety: Safety
    effect: str = ""
    gone_is_done: bool = False
    #: Whether ``route`` holds ``{id}``, which :meth:`request` must fill in.
    _has_id: bool = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_has_id", "{id}" in self.route)
        if (self.safety is Safety.ONCE) != bool(self.effect):
            raise ValueError(f"{self.route}: an effect is what a ONCE write may have done")

    def request(
        self,
        *,
        id: object = None,
        json: Any = UNSET,
        query: Mapping[str, str] | None = None,
        safety: Safety | None = None,
    ) -> Request:
        """This endpoint with its id (already validated) filled in, and a body or query.

        ``safety``: this request's own, when its body makes a ``ONCE`` write safe to repeat
        (a create carrying a ``local_id`` is ``IDEMPOTENT``); nothing else may be relaxed.
        """
        relaxed = self.safety is Safety.ONCE and safety is Safety.IDEMPOTENT
        if safety is not None and safety is not self.safety and not relaxed:
            raise ValueError(
                f"{self.route}: a {self.safety.value} request cannot be sent as {safety.value}"
            )
        path = self.route
        if self._has_id:
            if id is None:
                raise ValueError(f"{self.route} needs an id")
            path = path.replace("{id}", str(id))
        return Request(self, path, json, query, safety)


@attrs.frozen
class Request:
    """One API call as data: the endpoint, its path, and its JSON body and query if any."""

    endpoint: Endpoint
    path: str
    json: Any = UNSET
    query: Mapping[str, str] | None = None
    #: This request's safety when it differs from its endpoint's (see :meth:`Endpoint.request`).
    own_safety: Safety | None = None

    @property
    def method(self) -> str:
        return self.endpoint.method

    @property
    def safety(self) -> Safety:
        return self.endpoint.safety if self.own_safety is None else self.own_safety

    @property
    def has_body(self) -> bool:
        return not isinstance(self.json, UnsetType)


@attrs.frozen
class TransportRequest:
    """One attempt as a :class:`Transport` sends it: the URL is whole and already encoded,
    ``body`` is JSON bytes (``None``: no body) and ``timeout`` the seconds it may take."""

    method: str
    url: str
    #: Shown by name only in ``repr``, and left out of ``==`` (whose failure pytest prints):
    #: ``Authorization`` holds the API key or a JWT.
    headers: Mapping[str, str] = attrs.field(
        eq=False, repr=lambda headers: f"<{', '.join(headers)}>"
    )
    body: bytes | None = attrs.field(repr=False)  # customer data
    timeout: float | None
