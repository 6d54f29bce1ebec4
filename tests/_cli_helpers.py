"""Helpers for the CLI tests: an emulator served from a thread, and environments without keys."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from heymarket_async._cli import main
from heymarket_async.testing import FakeHeymarket

CREDENTIAL_VARS = (
    "HEYMARKET_API_KEY",
    "HEYMARKET_SECRET_ID",
    "HEYMARKET_SECRET_KEY",
    "HEYMARKET_BASE_URL",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any Heymarket variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    env.update(extra)
    return env


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main(argv)`` in process: its exit code, stdout and stderr."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def listing(directory: Path) -> list[str]:
    """The names in ``directory``, sorted."""
    return sorted(p.name for p in directory.iterdir())


@contextmanager
def threaded_fake(n: int = 0, **options: Any) -> Iterator[FakeHeymarket]:
    """A started emulator whose event loop runs in a thread, seeded with ``n`` contacts.

    For in-process ``main()`` calls, which run ``asyncio.run`` on the test's own thread.
    Read ``fake.contacts`` only while no command is running.
    """
    loop = asyncio.new_event_loop()
    fake = FakeHeymarket(**options)
    fake.seed(n)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
