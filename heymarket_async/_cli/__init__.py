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
"""

from ._app import main

__all__ = ["main"]
