"""The emulator shares no code with the SDK's private modules.

A parser or rule shared by the client and the fake would make every test that runs one against
the other blind to its bugs. The emulator may use the SDK's public API only (``fake.client()``
builds a ``HeymarketClient``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import heymarket_async.testing

PACKAGE = Path(heymarket_async.testing.__file__).parent
PUBLIC = {"heymarket_async", "heymarket_async.models", "heymarket_async.errors"}


def forbidden_imports(source: str) -> list[str]:
    """The SDK imports in a module's source other than its public API.

    Allowed: ``import heymarket_async``, public names from it (``from heymarket_async import
    HeymarketClient``), :mod:`heymarket_async.models` and :mod:`heymarket_async.errors`, and
    anything within ``heymarket_async.testing``.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if not allowed(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.level > 1:
            found.append("." * node.level + (node.module or ""))  # the SDK, or beyond
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "heymarket_async":
                found += [
                    f"heymarket_async.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_")
                ]
            elif not allowed(node.module):
                found.append(node.module)
    return found


def allowed(module: str) -> bool:
    """Whether importing ``module`` is fine for the emulator."""
    if module.split(".")[0] != "heymarket_async":
        return True
    return module in PUBLIC or module.startswith("heymarket_async.testing")


def test_the_checker_sees_what_it_must() -> None:
    source = """
import heymarket_async._sansio
from heymarket_async._sansio import json_loads
from heymarket_async import _validate, HeymarketClient
from heymarket_async.pagination._tags import x
from heymarket_async.pagination import iter_contacts
from .. import _client
def f():
    from heymarket_async._sansio.timestamps import parse_timestamp
import heymarket_async, json
from heymarket_async.errors import HeymarketError
from heymarket_async.testing._clock import FakeClock
from ._store import ContactStore
"""
    assert forbidden_imports(source) == [
        "heymarket_async._sansio",
        "heymarket_async._sansio",
        "heymarket_async._validate",
        "heymarket_async.pagination._tags",
        "heymarket_async.pagination",
        "..",
        "heymarket_async._sansio.timestamps",
    ]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_no_sdk_private_imports(path: Path) -> None:
    assert forbidden_imports(path.read_text(encoding="utf-8")) == []
