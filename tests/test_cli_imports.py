"""The command line is a client of the SDK: it imports the public API and one internal seam.

The public API is ``heymarket_async`` and its public subpackages (models, errors, pagination,
testing); the seam is ``heymarket_async._sansio`` (timestamps, JSON, the default base URL), as
``heymarket_async._cli``'s docstring says. Anything else private would tie the command to the
SDK's internals, which change without notice.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import heymarket_async._cli

CLI_PACKAGE = "heymarket_async._cli"
CLI_DIR = Path(heymarket_async._cli.__file__).parent
#: The private modules the command may import (the package itself aside).
SEAMS = {"heymarket_async._sansio"}
#: Private modules of public packages imported because they export no public way yet.
#: ``fake-server`` runs the emulator's server, whose entry point heymarket_async.testing does
#: not export (``python -m heymarket_async.testing`` reaches it through testing/__main__.py).
KNOWN_GAPS = {"heymarket_async.testing._serve"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def imported_names(source: str, module: str) -> Iterator[str]:
    """Every dotted name an import in ``source`` (the code of ``module``) reaches: each module,
    and each name taken from one (``from heymarket_async import _client`` is a module too)."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def private_imports(source: str, module: str) -> set[str]:
    """The private SDK modules ``source`` imports, other than the seams and the CLI's own."""
    found = set()
    for name in imported_names(source, module):
        parts = name.split(".")
        if parts[0] != "heymarket_async":
            continue
        for i, part in enumerate(parts[1:], start=2):
            if _private(part):
                prefix = ".".join(parts[:i])
                if prefix != CLI_PACKAGE and prefix not in SEAMS:
                    found.add(prefix)
                break
    return found


def _cli_modules() -> Iterator[tuple[str, str]]:
    for path in sorted(CLI_DIR.rglob("*.py")):
        relative = path.relative_to(CLI_DIR).with_suffix("")
        module = ".".join((CLI_PACKAGE, *relative.parts))
        if relative.name == "__init__":
            module = module.rsplit(".", 1)[0] + ".__init__"
        yield module, path.read_text(encoding="utf-8")


def test_the_cli_imports_only_the_public_api_and_the_sansio_seam() -> None:
    found = {
        module: sorted(private_imports(source, module) - KNOWN_GAPS)
        for module, source in _cli_modules()
    }
    assert {module: names for module, names in found.items() if names} == {}


def test_every_known_gap_is_still_needed() -> None:
    """Once heymarket_async.testing exports the server's entry point, drop it from KNOWN_GAPS."""
    used = set().union(*(private_imports(source, module) for module, source in _cli_modules()))
    assert used == KNOWN_GAPS


def test_the_seam_is_documented() -> None:
    doc = heymarket_async._cli.__doc__ or ""
    assert "heymarket_async._sansio" in doc
    for name in ("parse_timestamp", "format_timestamp", "json_dumps", "DEFAULT_BASE_URL"):
        assert name in doc


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from heymarket_async._client import HeymarketClient", {"heymarket_async._client"}),
        ("import heymarket_async._version", {"heymarket_async._version"}),
        ("from heymarket_async import _validate as check", {"heymarket_async._validate"}),
        ("from .. import _convert", {"heymarket_async._convert"}),
        ("from ..errors import HeymarketError", set()),
        (
            "from heymarket_async.pagination._contacts import X",
            {"heymarket_async.pagination._contacts"},
        ),
        ("from heymarket_async._sansio import json_dumps", set()),
        ("from heymarket_async._sansio.codec import json_dumps", set()),
        ("from heymarket_async import HeymarketClient, __version__", set()),
        ("from ._output import contact_record\nfrom . import _sandbox", set()),
        ("import yarl\nfrom heymarket_async.testing import FakeHeymarket", set()),
    ],
)
def test_the_check_sees_every_form_of_import(source: str, found: set[str]) -> None:
    assert private_imports(source, "heymarket_async._cli._app") == found
