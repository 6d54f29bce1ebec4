"""Shared fixtures: a recording loopback server, a client bound to it, and aioresponses.

``wire`` is a real aiohttp.web server on 127.0.0.1 that records every request exactly as it
arrived (method, raw path and query, headers, body bytes) and answers from a queue, so the tests
see what really goes over the socket. ``mock_http`` is aioresponses, for the tests that only need
to inject an answer or a failure without a server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import aioresponses.core as aioresponses_core
import pytest
from aioresponses import aioresponses

from heymarket_async import HeymarketClient, RetryPolicy
from tests._cli_helpers import CREDENTIAL_VARS
from tests._server import API_KEY, WireServer

# -- aioresponses on aiohttp 3.14 -------------------------------------------------------------


class _FinishedUpload:
    """Stands in for the stream writer of a request whose upload already finished."""

    output_size = 0


class _ShimClientResponse(aiohttp.ClientResponse):
    # aioresponses 0.7.9 builds ClientResponse objects itself and does not pass the
    # ``stream_writer`` argument that aiohttp 3.14 made required ("missing 1 required
    # keyword-only argument: 'stream_writer'"). aiohttp only reads ``output_size`` from it once
    # the request was sent (``writer is None``, which is what aioresponses passes), so a stub
    # with that one attribute is enough. Test-side only: users' aiohttp is not pinned for this.
    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _FinishedUpload())
        super().__init__(method, url, **kwargs)


@pytest.fixture
def mock_http(monkeypatch: pytest.MonkeyPatch) -> Iterator[aioresponses]:
    """aioresponses, patched to build responses on aiohttp 3.14."""
    monkeypatch.setattr(aioresponses_core, "ClientResponse", _ShimClientResponse)
    with aioresponses() as mocked:
        yield mocked


@pytest.fixture
async def wire() -> AsyncIterator[WireServer]:
    server = WireServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def client(wire: WireServer) -> AsyncIterator[HeymarketClient]:
    """A client with an API key, on the recording server, that never retries."""
    hm = HeymarketClient(API_KEY, base_url=wire.url, retry=RetryPolicy.disabled())
    try:
        yield hm
    finally:
        await hm.close()


@pytest.fixture(autouse=True)
def _no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see no credentials or base URL from the environment unless they set them."""
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def mypy_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for the tests that run mypy: the later ones reuse what the first checked
    (the package and the standard library's stubs), a cold run being most of their time.

    Under pytest-xdist, one for all the session's workers (mypy replaces each cache file in one
    step, so two runs at once only both do the work)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "mypy-cache"
        shared.mkdir(exist_ok=True)
        return shared
    return tmp_path_factory.mktemp("mypy-cache")


#: ``mypy --strict`` on some files: what the :func:`mypy_strict` fixture returns.
MypyStrict = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def mypy_strict(mypy_cache_dir: Path) -> MypyStrict:
    """Runs ``mypy --strict`` on the targets given (paths, absolute or from the checkout's root)
    from the checkout's root, so that mypy reads this heymarket_async and pyproject.toml, with
    the session's shared cache; skips the test where mypy is not installed."""
    pytest.importorskip("mypy")
    root = Path(__file__).resolve().parent.parent

    def run(*targets: str | Path) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "mypy", "--strict", f"--cache-dir={mypy_cache_dir}"]
        return subprocess.run(
            [*command, *map(str, targets)],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    return run
