"""The ``heymarket-async`` console script (``heymarket_async._cli:main``); see ``_app``.

The command is a client of the SDK like any other: it imports ``heymarket_async``,
``heymarket_async.models``, ``heymarket_async.errors``, ``heymarket_async.pagination`` and
``heymarket_async.testing`` (the emulator behind ``--sandbox`` and ``fake-server``), and one
internal seam, ``heymarket_async._sansio``: its timestamp codec (``parse_timestamp``,
``format_timestamp``), so that ``--since`` and the exported times read and write exactly what
the API does; its JSON codec (``json_dumps``, ``std_json_dumps``), so that the export writes
JSONL at the SDK's speed, with orjson when it is installed (and ``json_loads``, to read back a
resumed ``--dedupe`` export's lines); and ``DEFAULT_BASE_URL``, to know
when the default 500 requests a minute applies. tests/test_cli_imports.py holds it to that.

:func:`main` answers SIGINT and SIGTERM before it imports the command (and with it aiohttp):
a signal while the SDK loads prints one line and exits 130 or 143, as one later does.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._console import EXIT_INTERRUPTED, EXIT_TERMINATED, Streams
from ._signals import Stopped, stopped_by_signals

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["fake-server"]:
        from ._app import main as run  # the emulator handles its signals itself

        return run(args_list)
    with stopped_by_signals():
        try:
            from ._app import main as run

            return run(args_list)
        except KeyboardInterrupt as exc:  # while the command loads (it handles its own after)
            Streams(sys.stdout, sys.stderr).note("interrupted")
            terminated = isinstance(exc, Stopped) and exc.terminated
            return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
