"""Fixtures for the emulator's tests: a started fake and a raw HTTP helper that sees the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from _fake_http import Raw

from heymarket_async.testing import FakeHeymarket


@pytest.fixture
def fake_options() -> dict[str, Any]:
    return {}


@pytest.fixture
async def fake(fake_options: dict[str, Any]) -> AsyncIterator[FakeHeymarket]:
    async with FakeHeymarket(**fake_options) as started:
        yield started


@pytest.fixture
async def raw(fake: FakeHeymarket) -> AsyncIterator[Raw]:
    async with aiohttp.ClientSession() as session:
        yield Raw(session, fake)
