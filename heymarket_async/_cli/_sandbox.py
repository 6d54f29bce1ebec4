"""The built-in emulator: ``--sandbox N`` (a client on an in-process emulator) and the
``fake-server`` subcommand (the emulator as a server of its own).

Both import ``heymarket_async.testing`` only when used: it pulls in ``aiohttp.web``, which no
other command needs.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator

from heymarket_async import HeymarketClient

from ._console import EXIT_FAILURE, EXIT_OK, PROG


@contextlib.asynccontextmanager
async def sandbox(
    n: int, timeout: float, retries: int, rate_limit: float | None
) -> AsyncIterator[HeymarketClient]:
    """A client on a started emulator holding ``n`` made-up contacts, the same ones every run."""
    from heymarket_async.testing import FakeHeymarket

    async with FakeHeymarket() as fake:
        # seed=0 makes the same N contacts every run, so a sandbox export can be resumed.
        fake.seed(n, seed=0)
        async with fake.client(
            timeout=timeout, max_retries=retries, rate_limit=rate_limit
        ) as client:
            yield client


def fake_server(argv: list[str]) -> int:
    """``heymarket-async fake-server ARGS``: ``python -m heymarket_async.testing ARGS``."""
    try:
        # The one private module the command imports besides _sansio: heymarket_async.testing
        # does not export the server's entry point (tests/test_cli_imports.py names it).
        from heymarket_async.testing._serve import main as emulator_main
    except ImportError as exc:  # pragma: no cover - the emulator ships with the package
        sys.stderr.write(f"{PROG}: error: the emulator is not available: {exc}\n")
        return EXIT_FAILURE
    result = emulator_main(argv, prog=f"{PROG} fake-server")
    return result if isinstance(result, int) else EXIT_OK
