"""A raw HTTP helper for the emulator's tests: sends exact bytes, returns exact answers."""

from __future__ import annotations

import json
import socket
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDict

from heymarket_async.testing import FakeHeymarket


@attrs.frozen
class Answer:
    status: int
    headers: CIMultiDict[str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Raw:
    """Sends exactly the bytes a test gives and returns exactly what came back."""

    def __init__(self, session: aiohttp.ClientSession, fake: FakeHeymarket) -> None:
        self.session = session
        self.fake = fake

    async def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = "test",
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        async with self.session.request(
            method, self.fake.url + path, data=data, headers=sent
        ) as resp:
            return Answer(resp.status, CIMultiDict(resp.headers), await resp.read())


def has_ipv6_loopback() -> bool:
    """Whether this machine can listen on ``::1``."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True
