"""Assertions on what a request looked like on the wire, shared by the v1 and v2 tests."""

from __future__ import annotations

import platform

import aiohttp

import heymarket_async
from tests._server import API_KEY, Recorded

USER_AGENT = (
    f"heymarket-async/{heymarket_async.__version__} aiohttp/{aiohttp.__version__} "
    f"python/{platform.python_version()}"
)


def assert_request(
    rec: Recorded,
    method: str,
    path: str,
    *,
    query: str = "",
    body: object = None,
    has_body: bool = True,
    auth: str = f"Bearer {API_KEY}",
) -> None:
    """The request had exactly this method, path, query and JSON body, and the usual headers."""
    assert rec.method == method
    assert rec.path == path
    assert rec.query_string == query
    assert rec.headers["Authorization"] == auth
    assert rec.headers["User-Agent"] == USER_AGENT
    assert rec.headers["Accept"] == "application/json"
    if has_body:
        assert rec.headers["Content-Type"] == "application/json"
        assert rec.json == body
    else:
        assert "Content-Type" not in rec.headers
        assert rec.body == b""
