"""Opt-in pytest fixtures: ``heymarket_fake`` (a started emulator) and ``heymarket_client``.

Enable with ``pytest_plugins = ["heymarket_async.testing.pytest_plugin"]`` in your top-level
``conftest.py`` (or ``-p heymarket_async.testing.pytest_plugin``). Needs pytest-asyncio.
Override the ``heymarket_fake_options`` fixture to configure the fake::

    @pytest.fixture
    def heymarket_fake_options():
        return {"v1_order": "oldest_first", "timestamp_format": "seconds"}
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from heymarket_async import HeymarketClient

from ._server import FakeHeymarket


@pytest.fixture
def heymarket_fake_options() -> dict[str, Any]:
    """Keyword arguments for :class:`FakeHeymarket`; override it to change the switches."""
    return {}


@pytest_asyncio.fixture
async def heymarket_fake(heymarket_fake_options: dict[str, Any]) -> AsyncIterator[FakeHeymarket]:
    """A started :class:`FakeHeymarket` (API key ``"test"``), closed after the test."""
    async with FakeHeymarket(**heymarket_fake_options) as fake:
        yield fake


@pytest_asyncio.fixture
async def heymarket_client(heymarket_fake: FakeHeymarket) -> AsyncIterator[HeymarketClient]:
    """A :class:`HeymarketClient` bound to ``heymarket_fake``, closed after the test."""
    async with heymarket_fake.client() as client:
        yield client
