"""The documentation site's sources (docs/, mkdocs.yml) stay complete and true.

These tests need no mkdocs: they read the Markdown. .ci/run also builds the site with
``mkdocs build --strict`` and checks the built pages (tools/check_site.py: every internal link
resolves, every public name has its anchor); here the same omissions are caught in the sources:

- every public name (``heymarket_async.__all__``, ``heymarket_async.testing.__all__``,
  ``heymarket_async.pagination.__all__``) has a ``::: name`` directive under docs/reference/,
  and every directive names a real object;
- every page is in the nav and every nav entry is a page; included files exist;
- the guides' Python blocks compile, import real names, and call real methods with real
  keywords; the retry table matches the endpoints' declarations; the command's flags and exit
  codes are the real ones.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import heymarket_async
import heymarket_async.pagination
import heymarket_async.testing
from heymarket_async import HeymarketClient, V2Contacts
from heymarket_async._cli import _app
from heymarket_async._sansio.request import Endpoint, Safety
from heymarket_async.testing import FakeClock, FakeHeymarket, Fault, Faults
from heymarket_async.testing._serve import build_parser as build_server_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MKDOCS_YML = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
PAGES = sorted(DOCS.rglob("*.md"))

DIRECTIVE = re.compile(r"^::: (\S+)\s*$", re.M)
SNIPPET = re.compile(r'^--8<-- "([^"]+)"\s*$', re.M)


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def directives() -> list[str]:
    return [
        target for path in sorted((DOCS / "reference").glob("*.md"))
        for target in DIRECTIVE.findall(path.read_text(encoding="utf-8"))
    ]  # fmt: skip


def resolve(dotted: str) -> object:
    """The object a directive names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


class TestReferenceCoversEveryPublicName:
    def test_every_top_level_name(self) -> None:
        missing = {f"heymarket_async.{n}" for n in heymarket_async.__all__} - set(directives())
        assert not missing, f"add '::: NAME' lines under docs/reference/ for {sorted(missing)}"

    def test_every_testing_name(self) -> None:
        names = {f"heymarket_async.testing.{n}" for n in heymarket_async.testing.__all__}
        missing = names - set(directives())
        assert not missing, f"add '::: NAME' lines under docs/reference/ for {sorted(missing)}"

    def test_every_pagination_name_at_one_of_its_paths(self) -> None:
        found = set(directives())
        missing = [
            n
            for n in heymarket_async.pagination.__all__
            if not {f"heymarket_async.pagination.{n}", f"heymarket_async.{n}"} & found
        ]
        assert not missing

    def test_every_directive_names_a_real_object_once(self) -> None:
        found = directives()
        assert len(found) >= len(heymarket_async.__all__) + len(heymarket_async.testing.__all__)
        assert len(found) == len(set(found)), "a name is documented twice"
        for target in found:
            resolve(target)  # raises for a name that is gone

    def test_the_check_can_fail(self) -> None:
        with pytest.raises(AttributeError):
            resolve("heymarket_async.NoSuchName")


class TestPages:
    def nav_pages(self) -> list[str]:
        nav = MKDOCS_YML[MKDOCS_YML.index("\nnav:") : MKDOCS_YML.index("\nmarkdown_extensions:")]
        return re.findall(r"(?:- |: )([\w/.-]+\.md)$", nav, re.M)

    def test_every_page_is_in_the_nav_once_and_every_entry_is_a_page(self) -> None:
        nav = self.nav_pages()
        assert len(nav) == len(set(nav))
        assert set(nav) == {p.relative_to(DOCS).as_posix() for p in PAGES}

    def test_the_existing_pagination_notes_are_kept(self) -> None:
        assert "pagination.md" in self.nav_pages()
        assert page("pagination.md").startswith("# How the pagers walk a list")

    def test_the_changelog_page_includes_the_file_instead_of_a_copy(self) -> None:
        text = page("changelog.md")
        assert SNIPPET.findall(text) == ["CHANGELOG.md"]
        assert "## [Unreleased]" not in text

    def test_every_included_file_exists(self) -> None:
        for path in PAGES:
            for spec in SNIPPET.findall(path.read_text(encoding="utf-8")):
                name = spec.split(":", 1)[0]
                assert (ROOT / name).is_file(), f"{path.name} includes a missing {name}"

    def test_the_pytest_example_is_included_whole(self) -> None:
        # The guide includes lines START:END of the tested file: exactly what lies between
        # its markers, so an edit to the file cannot cut the example short unnoticed.
        specs = SNIPPET.findall(page("guides/testing.md"))
        (spec,) = [s for s in specs if s.startswith("tests/testing/test_fake_readme_example.py:")]
        name, start, end = spec.split(":")
        lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
        opening = lines.index("# --- guide example starts here ---")
        closing = lines.index("# --- guide example ends here ---")
        assert int(start) == opening + 2
        assert int(end) == max(i for i in range(opening, closing) if lines[i].strip()) + 1

    def test_getting_started_shows_the_readme_commands(self) -> None:
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        commands = re.findall(r"^python3 -m venv \.venv && .*$", readme, re.M)
        assert len(commands) >= 2
        index = page("index.md")
        for command in commands:
            assert command in index

    def test_the_workers_guide_marks_where_the_shared_budget_goes(self) -> None:
        # Issue 13 (a budget shared through Redis) fills this in; until then the marker stays.
        text = page("guides/workers.md")
        assert "rate_limit=" in text
        assert "<!-- shared budget: issue 13 -->" in text or "Redis" in text


# Python blocks ---------------------------------------------------------------------------------


def python_blocks() -> list[tuple[str, str]]:
    blocks = []
    for path in PAGES:
        text = path.read_text(encoding="utf-8")
        for number, code in enumerate(re.findall(r"^```python\n(.*?)^```$", text, re.S | re.M)):
            if not SNIPPET.search(code):
                blocks.append((f"{path.relative_to(DOCS)}[{number}]", code))
    return blocks


BLOCKS = python_blocks()

#: What the guides call their objects, and the class each stands for.
RECEIVERS: dict[str, type] = {
    "hm": HeymarketClient,
    "hm.v2": V2Contacts,
    "fake": FakeHeymarket,
    "fake.faults": Faults,
    "fake.clock": FakeClock,
    "Fault": Fault,
}
CALLABLES: dict[str, Callable[..., Any]] = {
    **{n: getattr(heymarket_async, n) for n in heymarket_async.__all__},
    **{n: getattr(heymarket_async.testing, n) for n in heymarket_async.testing.__all__},
}


def dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def sdk_calls(code: str) -> Iterator[tuple[str, Callable[..., Any], list[str]]]:
    """Each call of an SDK function or method in ``code``: its name, the function, keywords."""
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        if name is None:
            continue
        keywords = [k.arg for k in node.keywords if k.arg is not None]
        receiver, _, attr = name.rpartition(".")
        if receiver in RECEIVERS:
            cls = RECEIVERS[receiver]
            assert hasattr(cls, attr), f"{cls.__name__} has no {attr}"
            yield name, getattr(cls, attr), keywords
        elif name in CALLABLES and callable(CALLABLES[name]):
            yield name, CALLABLES[name], keywords


def accepts(function: Callable[..., Any], keyword: str) -> bool:
    parameters = inspect.signature(function).parameters.values()
    return any(
        p.kind is p.VAR_KEYWORD or (p.name == keyword and p.kind is not p.POSITIONAL_ONLY)
        for p in parameters
    )


class TestPythonBlocks:
    def test_there_are_blocks(self) -> None:
        assert len(BLOCKS) >= 10

    @pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[b[0] for b in BLOCKS])
    def test_it_compiles(self, where: str, code: str) -> None:
        compile(code, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)

    @pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[b[0] for b in BLOCKS])
    def test_its_sdk_imports_exist(self, where: str, code: str) -> None:
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("heymarket"):
                module = importlib.import_module(node.module or "")
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{where}: {node.module}.{alias.name}"

    @pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[b[0] for b in BLOCKS])
    def test_its_sdk_calls_name_real_methods_and_keywords(self, where: str, code: str) -> None:
        for name, function, keywords in sdk_calls(code):
            for keyword in keywords:
                assert accepts(function, keyword), f"{where}: {name}() takes no {keyword}="

    def test_the_calls_checked_are_many(self) -> None:
        checked = [call for _, code in BLOCKS for call in sdk_calls(code)]
        assert len(checked) >= 25

    def test_a_wrong_keyword_is_caught(self) -> None:
        ((_, function, keywords),) = sdk_calls("hm.v2.iter_contacts(slice=4)")
        assert not accepts(function, keywords[0])
        with pytest.raises(AssertionError, match="has no iter_contact"):
            list(sdk_calls("hm.iter_contact()"))


# The retry table -------------------------------------------------------------------------------


def declared_endpoints() -> dict[str, Safety]:
    """Every endpoint the resources declare: "METHOD /route" (or patch_contact) -> safety."""
    found: dict[str, Safety] = {}
    for module_name in [
        "heymarket_async.resources.v1.contacts",
        "heymarket_async.resources.v1.fields",
        "heymarket_async.resources.v1.status",
        "heymarket_async.resources.v1.tags",
        "heymarket_async.resources.v2.contacts",
    ]:
        for name, value in vars(importlib.import_module(module_name)).items():
            if isinstance(value, Endpoint):
                key = "patch_contact" if name == "PATCH_WRITE" else f"{value.method} {value.route}"
                found[key] = value.safety
    return found


def guide_retry_table() -> dict[str, Safety]:
    text = page("guides/retries-and-errors.md")
    text = text.replace("`patch_contact`'s `PUT /v1/contact/{id}`", "`patch_contact`")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    # The fourth row: creates carrying a local_id, by call rather than by route.
    assert len(rows) == 4, rows
    assert "`local_id`" in rows[3]
    assert "retry_creates_with_local_id=False" in rows[3]
    table: dict[str, Safety] = {}
    for safety, row in zip([Safety.READ, Safety.IDEMPOTENT, Safety.ONCE], rows[:3], strict=True):
        for route in re.findall(r"`((?:GET|POST|PUT|DELETE) /[^`]+|patch_contact)`", row):
            route = route.replace("{uuid}", "{id}")
            assert route not in table, f"{route} is in the table twice"
            table[route] = safety
    return table


class TestRetryTable:
    def test_each_endpoint_is_in_the_row_of_its_declared_safety(self) -> None:
        assert guide_retry_table() == declared_endpoints()

    def test_it_names_every_route_the_emulator_serves(self) -> None:
        routes = {r.replace("{uuid}", "{id}") for r in heymarket_async.testing.ROUTES}
        assert set(guide_retry_table()) == routes | {"patch_contact"}


# The command -----------------------------------------------------------------------------------


def cli_options() -> set[str]:
    found: set[str] = set()
    parsers = [_app.build_parser(), build_server_parser()]
    while parsers:
        parser = parsers.pop()
        for action in parser._actions:
            found.update(action.option_strings)
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):  # subcommands
                parsers.extend(choices.values())
    return found


class TestCommandGuide:
    @pytest.mark.parametrize("name", ["guides/command.md", "guides/export.md"])
    def test_every_flag_exists(self, name: str) -> None:
        flags = set(re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", page(name)))
        assert "--resume" in flags
        assert flags <= cli_options()

    def test_the_exit_codes_are_the_real_ones(self) -> None:
        rows = dict(re.findall(r"^\| (\d+) \| (.+) \|$", page("guides/command.md"), re.M))
        assert rows.keys() == {
            str(c)
            for c in [
                _app.EXIT_OK,
                _app.EXIT_FAILURE,
                _app.EXIT_USAGE,
                _app.EXIT_INTERRUPTED,
                _app.EXIT_BROKEN_PIPE,
            ]
        }
        assert rows[str(_app.EXIT_INTERRUPTED)].startswith(
            f"interrupted by Ctrl-C ({_app.EXIT_TERMINATED} by SIGTERM)"
        )
        assert rows[str(_app.EXIT_BROKEN_PIPE)].startswith("stdout closed")
        assert rows[str(_app.EXIT_USAGE)].startswith("usage error")


# Packaging -------------------------------------------------------------------------------------


class TestProjectMetadata:
    def test_the_urls_users_look_for_and_the_docs_extra(self) -> None:
        tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library 3.11+")
        project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        assert set(project["urls"]) >= {
            "Homepage",
            "Documentation",
            "Source",
            "Issues",
            "Changelog",
        }
        extras = project["optional-dependencies"]
        assert {re.split(r"[\[<>=]", r)[0] for r in extras["docs"]} >= {
            "mkdocs",
            "mkdocs-material",
            "mkdocstrings",
        }
        assert any(r.startswith("PyJWT") for r in extras["dev"])
        site_url = re.search(r"^site_url: (\S+)$", MKDOCS_YML, re.M)
        assert site_url is not None
        assert project["urls"]["Documentation"] == site_url.group(1)
