"""README.md and the guides that took over its sections stay true: their examples run against
the emulator, their tables name real things.

The README is trimmed to a first screen (the two commands, links into the documentation site, a
quickstart, the performance figures); what it used to hold lives in docs/guides/ and is held to
the same checks here. Every ```python block of the README is compiled, claimed by exactly one
entry of ``ROLES`` below (a new block fails :class:`TestEveryBlockIsCovered` until it is given
one), and passes ``mypy --strict`` as printed (:class:`TestTypes`). The blocks of the guides
that this module runs are named in ``DOC_ROLES``. The blocks run as printed, with ``await`` at
top level, against a :class:`FakeHeymarket`: the environment holds its URL and key
(``HEYMARKET_BASE_URL``, ``HEYMARKET_API_KEY``), so ``HeymarketClient()`` reaches it, and the
emulator accepts the README's placeholder key ``"..."``. The fragments continue one another, so
each block runs in a namespace that already holds every public name of ``heymarket_async`` and
``hm``, a client bound to the fake.

Substitutions, all explicit:

- free names that stand for the reader's data are bound first: ``u``, ``uuid1``, ``uuid2``
  (seeded contacts' UUIDs), ``saved`` (a real position) and ``write`` (collects the pages);
- contact 42 exists where the status block reads it;
- the errors block also runs with its invalid phone replaced by a valid one and a fault
  injected, so that each ``except`` branch reads attributes that must exist;
- the workers guide's Redis URL is replaced by a real redis-server's.

The prose is held where it is checkable: the client's printed signature against the real one,
the method table against the methods (both ways), the retry table against what the client does
on each emulator route after a 503, the sample error line against a real one, and the flags
of the emulator's sections against its parsers (docs/guides/command.md's flags and exit codes:
tests/test_docs_site.py).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import heymarket_async
from heymarket_async import (
    UNSET,
    HeymarketClient,
    RetryPolicy,
    V1ContactFields,
    V1Contacts,
    V1ContactStatus,
    V1Tags,
    V2Contacts,
)
from heymarket_async._cli import _app
from heymarket_async.testing import ROUTES, FakeHeymarket, Fault
from heymarket_async.testing._serve import build_parser as build_server_parser
from tests._redis import RedisServer
from tests.conftest import MypyStrict

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: The guides that took over the README's sections when it was trimmed to a first screen.
GUIDES = {
    name: (ROOT / "docs" / "guides" / name).read_text(encoding="utf-8")
    for name in (
        "client.md",
        "export.md",
        "retries-and-errors.md",
        "testing.md",
        "web-service.md",
        "workers.md",
    )
}

#: The README's placeholder API key: the fake accepts it, so the blocks run as printed.
KEY = "..."
SEEDED = 45  # more than one v1 page (30), so the resume example really resumes


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", text, re.S | re.M)


def section(title: str, guide: str) -> str:
    """A guide's text from the heading ``title`` to the next heading of its level."""
    text = GUIDES[guide]
    match = re.search(rf"^(#+) {re.escape(title)}\n(.*?)(?=^\1 |\Z)", text, re.S | re.M)
    assert match, f"docs/guides/{guide} has no section {title!r}"
    return match.group(2)


BLOCKS = python_blocks(README)
GUIDE_BLOCKS = [b for text in GUIDES.values() for b in python_blocks(text)]

#: Each README block's role, keyed by a line only that block holds. "run": a test below runs
#: it; every one is also checked by mypy --strict.
ROLES: dict[str, str] = {
    "async def contact_for(phone: str) -> dict[str, object] | None:": "run",
    'ref = await hm.create_contact("15105553344", first="Jordan"': "run",
    'with open("contacts.jsonl", "w") as out:': "run",
    'await hm.create_contact("555-1234")': "run",
    "async def worker(hm: HeymarketClient, rows:": "run",
}

#: The guides' blocks that this module runs or reads (each marker in exactly one of them).
DOC_ROLES: dict[str, str] = {
    "HeymarketClient(api_key=None,": "signature",
    "await hm.set_contact_status(42": "run",
    "result = await hm.batch_create_contacts(": "run",
    "hm.v2.iter_contacts(slices=4) as pager:": "run",
    "async with hm.v2.iter_contacts(resume=saved) as pager:": "run",
    'hm = HeymarketClient(api_key="test", transport=MockTransport(handler))': "run",
    'limiter = RedisRateLimiter("redis://localhost:6379/0", key=api_key)': "run",
}


def block(marker: str) -> str:
    """The one README block, or else the one guide block, holding ``marker``."""
    found = [b for b in BLOCKS if marker in b] or [b for b in GUIDE_BLOCKS if marker in b]
    (only,) = found
    return only


def compile_block(text: str, name: str = "README") -> Any:
    return compile(text, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


async def run_block(text: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run a README block in ``namespace`` (top-level ``await`` allowed); returns the namespace."""
    result = eval(compile_block(text), namespace)
    if inspect.iscoroutine(result):
        await result
    return namespace


def public_names() -> dict[str, Any]:
    return {name: getattr(heymarket_async, name) for name in heymarket_async.__all__}


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[FakeHeymarket]:
    """A seeded emulator that ``HeymarketClient()`` reaches through the environment."""
    async with FakeHeymarket(api_key=KEY) as started:
        started.seed(SEEDED)
        monkeypatch.setenv("HEYMARKET_API_KEY", KEY)
        monkeypatch.setenv("HEYMARKET_BASE_URL", started.url)
        monkeypatch.delenv("HEYMARKET_SECRET_ID", raising=False)
        monkeypatch.delenv("HEYMARKET_SECRET_KEY", raising=False)
        monkeypatch.chdir(tmp_path)  # the bulk loop writes contacts.jsonl
        yield started


@pytest.fixture
def namespace(fake: FakeHeymarket) -> dict[str, Any]:
    return {**public_names(), "hm": fake.client()}


class TestEveryBlockIsCovered:
    def test_there_are_python_blocks(self) -> None:
        assert len(BLOCKS) >= len(ROLES)

    @pytest.mark.parametrize("index", range(len(BLOCKS)))
    def test_each_block_compiles(self, index: int) -> None:
        compile_block(BLOCKS[index], f"README block {index}")

    @pytest.mark.parametrize("index", range(len(BLOCKS)))
    def test_each_block_has_exactly_one_role(self, index: int) -> None:
        roles = [marker for marker in ROLES if marker in BLOCKS[index]]
        assert len(roles) == 1, f"README block {index} needs one entry in ROLES:\n{BLOCKS[index]}"

    @pytest.mark.parametrize("marker", list(ROLES))
    def test_each_role_names_one_block(self, marker: str) -> None:
        assert len([b for b in BLOCKS if marker in b]) == 1

    @pytest.mark.parametrize("marker", list(DOC_ROLES))
    def test_each_guide_role_names_one_guide_block(self, marker: str) -> None:
        assert len([b for b in GUIDE_BLOCKS if marker in b]) == 1
        assert not [b for b in BLOCKS if marker in b]

    def test_every_link_into_the_repository_resolves(self) -> None:
        links = re.findall(r"\]\(([^)]+)\)", README)
        local = [link for link in links if not link.startswith(("http://", "https://"))]
        assert len(local) >= 10
        for link in local:
            path, _, anchor = link.partition("#")
            target = ROOT / path
            assert target.exists(), link
            if anchor:
                headings = re.findall(r"^#+ (.+)$", target.read_text(encoding="utf-8"), re.M)
                slugs = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
                assert anchor in slugs, link

    def test_the_readme_is_a_first_screen_with_links_into_the_guides(self) -> None:
        headings = re.findall(r"^## (.+)$", README, re.M)
        assert headings == ["Quickstart", "Performance", "Development"]
        for guide in GUIDES:
            assert f"(docs/guides/{guide})" in README


class TestQuickstart:
    async def test_the_web_service_looks_contacts_up_by_any_phone_format(
        self, fake: FakeHeymarket
    ) -> None:
        stored = fake.add_contact(phone="15105553344", first="Jordan", display_name="Jordan L")
        ns = await run_block(block("async def contact_for"), public_names())
        hm = ns["hm"]
        try:
            assert hm.base_url == fake.url  # built at import time, from the environment
            found = await ns["contact_for"]("+1 (510) 555-3344")
            assert found is not None
            assert found["id"] == stored["id"]
            assert found["name"] == "Jordan L"
            assert found["updated"] is not None
            assert await ns["contact_for"]("+1 (510) 555-0000") is None
        finally:
            await hm.close()

    async def test_writes_send_only_the_given_fields(self, fake: FakeHeymarket) -> None:
        ns = await run_block(block('first="Jordan", tags='), public_names())
        ref, contact = ns["ref"], ns["contact"]
        assert ns["hm"].closed
        assert contact.id == ref.id
        assert contact.uuid == ref.uuid
        assert contact.first == "Jordan"
        assert contact.custom == {"123": "Premium", "456": "2024-01-15"}
        assert [t.id for t in contact.tags] == [55, 56]
        create = fake.requests_to("POST /v1/contact")[0]
        assert set(create.json) == {"phone", "first", "tags", "custom"}

    async def test_the_bulk_loop_writes_every_contact_once(
        self, fake: FakeHeymarket, tmp_path: Path
    ) -> None:
        await run_block(block("contacts.jsonl"), public_names())
        lines = (tmp_path / "contacts.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in lines]
        assert sorted(row["id"] for row in rows) == sorted(fake.contacts)
        assert all(row["phone"] for row in rows)


class TestErrors:
    async def test_an_invalid_phone_is_refused_before_sending(
        self, fake: FakeHeymarket, namespace: dict[str, Any], capsys: pytest.CaptureFixture[str]
    ) -> None:
        await run_block(block('create_contact("555-1234")'), namespace)
        assert capsys.readouterr().out.startswith("phone must be an E.164 number")
        assert list(fake.requests) == []

    # Each except branch, reached by a valid phone and a fault: the attributes it prints exist.
    @pytest.mark.parametrize(
        ("fault", "printed"),
        [
            (Fault.rate_limited(retry_after=3600), r"3600\.0 [0-9a-f]{32}"),
            (Fault.status(500), r"500 [0-9a-f]{32} \{'error': .*\}"),
            (Fault.drop_after_write(), "True"),
        ],
        ids=["RateLimitError", "APIError", "TransportError"],
    )
    async def test_each_branch_reads_real_attributes(
        self,
        fake: FakeHeymarket,
        capsys: pytest.CaptureFixture[str],
        fault: Fault,
        printed: str,
    ) -> None:
        fake.faults.add("POST /v1/contact", fault)
        text = block('create_contact("555-1234")').replace('"555-1234"', '"15105553344"')
        ns = {**public_names(), "hm": fake.client(retry=RetryPolicy.disabled())}
        await run_block(text, ns)
        assert re.fullmatch(printed, capsys.readouterr().out.strip())

    async def test_the_sample_message_has_the_real_shape(self, fake: FakeHeymarket) -> None:
        sample = re.search(r"`(404 Not Found for GET \S+ \(request id [^)]+\): [^`]+)`", README)
        assert sample is not None
        fake.delete_contact(42)
        with pytest.raises(heymarket_async.NotFoundError) as caught:
            await fake.client().get_contact(42)
        # The sample with its URL, request id and server message as placeholders.
        shape = re.escape(sample.group(1))
        shape = shape.replace(re.escape("https://api.heymarket.com"), re.escape(fake.url))
        shape = shape.replace(re.escape("7f3c…"), "[0-9a-f]+").replace("not\\ found", ".*not found")
        assert re.fullmatch(shape, str(caught.value)), (shape, str(caught.value))


class TestClientSignature:
    def test_the_printed_defaults_are_the_real_ones(self) -> None:
        (statement,) = ast.parse(block("HeymarketClient(api_key=None,")).body
        assert isinstance(statement, ast.Expr)
        assert isinstance(statement.value, ast.Call)
        printed = {
            kw.arg: UNSET
            if isinstance(kw.value, ast.Name) and kw.value.id == "UNSET"
            else ast.literal_eval(kw.value)
            for kw in statement.value.keywords
        }
        parameters = list(inspect.signature(HeymarketClient.__init__).parameters.values())[1:]
        assert printed == {p.name: p.default for p in parameters}
        assert list(printed) == [p.name for p in parameters]
        assert [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD] == ["api_key"]

    async def test_it_builds_a_client_from_the_environment(self, fake: FakeHeymarket) -> None:
        ns = await run_block("hm = " + block("HeymarketClient(api_key=None,"), public_names())
        async with ns["hm"] as hm:
            assert hm.base_url == fake.url
            assert await hm.count_contacts() == SEEDED


class TestV1Extras:
    async def test_status_fields_and_tags(
        self, fake: FakeHeymarket, namespace: dict[str, Any]
    ) -> None:
        assert 42 in fake.contacts  # seeded
        ns = await run_block(block("set_contact_status(42"), namespace)
        assert fake.blocked == {42}
        assert [f.name for f in ns["fields"]] == ["Plan", "Region"]
        assert ns["tag"].name == "VIP"
        assert len(fake.tags) == 0  # the tag the loop ended on was deleted

    async def test_many_contacts_at_once(
        self,
        fake: FakeHeymarket,
        namespace: dict[str, Any],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        first, second, third = (fake.contacts[i]["uuid"] for i in list(fake.contacts)[:3])
        namespace.update(u=first, uuid1=second, uuid2=third)
        before = len(fake.contacts)
        ns = await run_block(block("batch_create_contacts("), namespace)
        assert ns["result"].ok
        assert capsys.readouterr().out == ""  # nothing failed, nothing unknown
        phones = {c.get("phone") for c in fake.contacts.values()}
        assert {"15105553344", "15105553345"} <= phones
        by_uuid = {c["uuid"]: c for c in fake.contacts.values()}
        assert by_uuid[first]["first"] == "B"
        assert second not in by_uuid
        assert third not in by_uuid
        assert len(fake.contacts) == before + 2 + 1 - 2  # two v1 creates, one v2 create


class TestWalking:
    async def test_the_page_loop_writes_every_contact_once(
        self, fake: FakeHeymarket, tmp_path: Path
    ) -> None:
        await run_block(block("hm.v2.iter_contacts(slices=4) as pager:"), public_names())
        rows = [json.loads(line) for line in (tmp_path / "contacts.jsonl").read_text().splitlines()]
        assert sorted(row["id"] for row in rows) == sorted(fake.contacts)
        assert fake.requests_to("POST /v2/contacts/list")

    async def test_resuming_from_a_saved_position_gives_every_contact_once(
        self, fake: FakeHeymarket, namespace: dict[str, Any]
    ) -> None:
        hm: HeymarketClient = namespace["hm"]
        async with hm.v2.iter_contacts(page_size=10) as pager:
            first_page = await anext(aiter(pager.pages()))
            saved = pager.position.to_json()
        written: list[list[Any]] = []
        write: Callable[[list[Any]], None] = written.append
        namespace.update(saved=saved, write=write)
        ns = await run_block(block("hm.v2.iter_contacts(resume=saved) as pager:"), namespace)
        ids = [c.id for c in first_page] + [c.id for page in written for c in page]
        assert len(first_page) < SEEDED
        assert written
        assert sorted(ids) == sorted(fake.contacts)
        assert ns["saved"] != saved  # the loop kept the position up to date


class TestMockTransportExample:
    async def test_it_answers_without_a_socket(self) -> None:
        ns = await run_block(block("transport=MockTransport(handler))"), {})
        async with ns["hm"] as hm:
            contact = await hm.get_contact_by_phone("+1 (510) 555-3344")
        assert contact.id == 42
        assert contact.phone == "15105553344"


class TestMethodTable:
    """Every method (and keyword) in the table of v1 and v2 methods exists with that name."""

    def rows(self) -> list[tuple[str, str]]:
        table = section("The calls", "client.md").split("| v1 (integer ids) |", 1)[1]
        rows = []
        for line in table.splitlines()[2:]:
            if not line.startswith("|"):
                break
            v1, v2 = line.strip("|").split("|")
            rows.append((v1, v2))
        return rows

    @staticmethod
    def calls(cell: str) -> list[tuple[str, list[str]]]:
        found = []
        for code in re.findall(r"`([^`]+)`", cell):
            name = code.split("(", 1)[0]
            keywords = re.findall(r"(\w+)=", code)
            found.append((name, keywords))
        return found

    def test_each_name_and_keyword_exists(self) -> None:
        checked = 0
        for v1, v2 in self.rows():
            for owner, cell in ((HeymarketClient, v1), (V2Contacts, v2)):
                for name, keywords in self.calls(cell):
                    method = getattr(owner, name)
                    parameters = inspect.signature(method).parameters
                    for keyword in keywords:
                        assert keyword in parameters, f"{owner.__name__}.{name}({keyword}=)"
                    checked += 1
        assert checked >= 25

    def test_every_public_method_is_in_it(self) -> None:
        v1 = (V1Contacts, V1ContactFields, V1ContactStatus, V1Tags)
        for owners, column in ((v1, 0), ((V2Contacts,), 1)):
            listed = {name for row in self.rows() for name, _ in self.calls(row[column])}
            public = {
                n
                for owner in owners
                for n in vars(owner)
                if not n.startswith("_") and callable(getattr(owner, n))
            }
            assert public == listed, owners


#: Inline code of the guides that runs as printed (``hm`` and ``fake`` in scope), and what
#: must then hold.
INLINE: dict[str, Callable[[Any, FakeHeymarket], bool]] = {
    'await hm.patch_contact(42, email="new@example.com")': lambda ref, fake: (
        ref.id == 42 and fake.contacts[42]["email"] == "new@example.com"
    ),
    "hm.with_options(timeout=5)": lambda view, fake: (
        isinstance(view, HeymarketClient) and view.base_url == fake.url
    ),
    "RetryPolicy(attempt_timeout=10)": lambda policy, fake: policy.attempt_timeout == 10,
    "RetryPolicy.disabled()": lambda policy, fake: policy.max_retries == 0,
    "fake.clock.freeze()": lambda _, fake: fake.clock.frozen,
    "fake.client()": lambda client, fake: client.base_url == fake.url,
}


class TestInlineCode:
    @pytest.mark.parametrize("code", list(INLINE))
    async def test_it_runs_as_printed(
        self, fake: FakeHeymarket, namespace: dict[str, Any], code: str
    ) -> None:
        assert any(f"`{code}`" in text for text in GUIDES.values())
        namespace["fake"] = fake
        await run_block(f"value = {code}", namespace)
        assert INLINE[code](namespace["value"], fake)

    async def test_the_emulator_section_client_line(self) -> None:
        code = 'HeymarketClient(api_key="test", base_url=fake.url)'
        assert f"# or {code}" in GUIDES["testing.md"]
        async with FakeHeymarket(api_key="test") as fake:
            fake.seed(3)
            ns = await run_block(f"hm = {code}", {**public_names(), "fake": fake})
            async with ns["hm"] as hm:
                assert await hm.count_contacts() == 3


#: One call per emulator route (and patch_contact, which writes through a route of its own
#: kind); ``ctx`` holds ids of the seeded fake.
CALLS: dict[str, Callable[[HeymarketClient, dict[str, Any]], Awaitable[Any]]] = {
    "POST /v1/contact": lambda hm, c: hm.create_contact("15105550001"),
    "GET /v1/contact/{id}": lambda hm, c: hm.get_contact(1),
    "PUT /v1/contact/{id}": lambda hm, c: hm.update_contact(1, c["phone"], first="A"),
    "DELETE /v1/contact/{id}": lambda hm, c: hm.delete_contact(2),
    "POST /v1/contact/get": lambda hm, c: hm.get_contact_by_phone(c["phone"]),
    "POST /v1/contacts": lambda hm, c: hm.list_contacts(),
    "POST /v1/contacts/count": lambda hm, c: hm.count_contacts(),
    "POST /v1/contact-fields": lambda hm, c: hm.list_contact_fields(),
    "GET /v2/contact/{uuid}": lambda hm, c: hm.v2.get_contact(c["uuid"]),
    "POST /v2/contact": lambda hm, c: hm.v2.create_contact([("phone", "15105550002")]),
    "POST /v2/contacts/list": lambda hm, c: hm.v2.list_contacts(),
    "POST /v2/contacts/search": lambda hm, c: hm.v2.search_contacts(c["phone"]),
    "POST /v2/contact/{uuid}/channel": lambda hm, c: hm.v2.add_channel(
        c["uuid"], "email", "new@example.com"
    ),
    "POST /v1/contact/status": lambda hm, c: hm.get_contact_status(1),
    "POST /v1/contact/set_status": lambda hm, c: hm.set_contact_status(1, status="blocked"),
    "POST /v1/contacts/fields": lambda hm, c: hm.create_contact_fields(["Region"]),
    "POST /v1/batch/contacts": lambda hm, c: hm.batch_create_contacts([{"phone": "15105550003"}]),
    "POST /v1/tag": lambda hm, c: hm.create_tag("VIP"),
    "GET /v1/tag/{id}": lambda hm, c: hm.get_tag(c["tag"]),
    "DELETE /v1/tag/{id}": lambda hm, c: hm.delete_tag(c["tag"]),
    "POST /v1/tags": lambda hm, c: hm.list_tags(),
    "PUT /v2/contact/{uuid}": lambda hm, c: hm.v2.update_contact(c["uuid"], first="B"),
    "DELETE /v2/contact/{uuid}": lambda hm, c: hm.v2.delete_contact(c["other_uuid"]),
    "POST /v2/contacts": lambda hm, c: hm.v2.upsert_contacts([{"uuid": c["uuid"], "first": "C"}]),
    "DELETE /v2/contacts": lambda hm, c: hm.v2.delete_contacts([c["other_uuid"]]),
    "PUT /v2/contact/{uuid}/channel": lambda hm, c: hm.v2.update_channel(
        c["uuid"], "email", "other@example.com"
    ),
    "patch_contact": lambda hm, c: hm.patch_contact(1, first="D"),
}


#: The calls of the retry table's last row, one per route, each carrying a local_id.
KEYED_CREATES: dict[str, Callable[[HeymarketClient], Awaitable[Any]]] = {
    "POST /v1/contact": lambda hm: hm.create_contact("15105550001", local_id="crm-1"),
    "POST /v2/contact": lambda hm: hm.v2.create_contact(
        [("phone", "15105550002")], local_id="crm-2"
    ),
    "POST /v1/batch/contacts": lambda hm: hm.batch_create_contacts(
        [{"phone": "15105550003", "local_id": "crm-3"}]
    ),
    "POST /v2/contacts": lambda hm: hm.v2.upsert_contacts(
        [{"channels": [("phone", "15105550004")], "local_id": "crm-4"}]
    ),
}


def retry_rows() -> list[str]:
    """The rows of the retry table: reads, idempotent writes, writes never sent twice, and
    creates carrying a ``local_id``."""
    text = section("What is retried", "retries-and-errors.md")
    text = text.replace("`patch_contact`'s `PUT /v1/contact/{id}`", "`patch_contact`")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == 4, rows
    return rows


def retry_table() -> dict[str, bool]:
    """The retry table: route (or ``patch_contact``) -> retried after a 503."""
    table: dict[str, bool] = {}
    for number, row in enumerate(retry_rows()[:3]):
        operations = row.split("|")[1]
        for route in re.findall(r"`((?:GET|POST|PUT|DELETE) /[^`]+|patch_contact)`", operations):
            assert route not in table, f"{route} is in the table twice"
            table[route] = number < 2  # reads, idempotent writes: retried; the rest: not
    return table


class TestRetryTable:
    def test_it_names_every_route_once(self) -> None:
        assert set(retry_table()) == set(ROUTES) | {"patch_contact"} == set(CALLS)

    @pytest.mark.parametrize("route", sorted(CALLS))
    async def test_each_route_is_retried_as_the_table_says(
        self, fake: FakeHeymarket, route: str
    ) -> None:
        ctx = {
            "phone": fake.contacts[1]["phone"],
            "uuid": fake.contacts[1]["uuid"],
            "other_uuid": fake.contacts[3]["uuid"],
            "tag": fake.add_tag("T")["id"],
        }
        target = "PUT /v1/contact/{id}" if route == "patch_contact" else route
        fake.faults.add(target, Fault.status(503), times=1)
        hm = fake.client(retry=RetryPolicy(max_retries=1, backoff_base=0))
        with contextlib.suppress(heymarket_async.ServerError):  # when it is not retried
            await CALLS[route](hm, ctx)
        sent = len(fake.requests_to(target))
        assert sent == (2 if retry_table()[route] else 1)

    def test_the_local_id_row_names_the_calls_and_the_switch(self) -> None:
        row = retry_rows()[3]
        assert "`local_id`" in row
        assert "`RetryPolicy(retry_creates_with_local_id=False)`" in row
        for call in ("create_contact", "v2.create_contact", "batch_create_contacts"):
            assert f"`{call}" in row
        assert "`v2.upsert_contacts`" in row
        assert row.rstrip().endswith("| the same as idempotent writes |")

    @pytest.mark.parametrize("route", sorted(KEYED_CREATES))
    @pytest.mark.parametrize("switch", [True, False])
    async def test_creates_carrying_a_local_id_are_retried_as_the_last_row_says(
        self, fake: FakeHeymarket, route: str, switch: bool
    ) -> None:
        fake.faults.add(route, Fault.status(503), times=1)
        policy = RetryPolicy(max_retries=1, backoff_base=0, retry_creates_with_local_id=switch)
        with contextlib.suppress(heymarket_async.ServerError):  # when it is not retried
            await KEYED_CREATES[route](fake.client(retry=policy))
        assert len(fake.requests_to(route)) == (2 if switch else 1)


class TestWorker:
    async def test_lost_answers_are_retried_into_one_contact_per_row(
        self, fake: FakeHeymarket
    ) -> None:
        ns = await run_block(block("async def worker("), public_names())
        fake.faults.add("POST /v1/contact", Fault.drop_after_write(), times=2)
        rows: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        for n in range(5):
            rows.put_nowait({"phone": f"1510555{n:04d}", "first": f"R{n}", "crm_id": f"crm-{n}"})
        before = len(fake.contacts)
        async with fake.client(retry=RetryPolicy(backoff_base=0)) as hm:
            workers = [asyncio.create_task(ns["worker"](hm, rows)) for _ in range(3)]
            await rows.join()
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        assert len(fake.contacts) == before + 5
        assert len(fake.requests_to("POST /v1/contact")) == 7
        held = sorted(c.get("local_id") or "" for c in fake.contacts.values())
        assert held[-5:] == [f"crm-{n}" for n in range(5)]


class TestEmulatorFlags:
    def options(self) -> set[str]:
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

    def test_every_flag_in_the_emulator_sections_exists(self) -> None:
        text = section("As a server of its own", "testing.md") + section(
            "Rate limits and latency", "testing.md"
        )
        flags = set(re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", text))
        flags.discard("-m")  # python's own, in `python -m heymarket_async.testing`
        assert {"--port", "--rate-limit", "--latency"} <= flags
        assert flags <= self.options()


class TestManyWorkers:
    async def test_the_redis_block_runs_against_a_real_redis(
        self, fake: FakeHeymarket, tmp_path: Path
    ) -> None:
        server = RedisServer(tmp_path).start()
        try:
            ns = {**public_names(), "api_key": KEY}
            code = block('limiter = RedisRateLimiter("redis://localhost:6379/0"')
            await run_block(code.replace("redis://localhost:6379/0", server.url), ns)
            assert fake.requests_to("GET /v1/contact/{id}")
            assert isinstance(ns["limiter"], heymarket_async.RedisRateLimiter)
        finally:
            server.stop()


def typed_module(blocks: list[str]) -> str:
    """The blocks as one module for mypy: each the body of its own ``async def`` (so that
    top-level ``await`` and ``async with`` are legal), with every public name imported and
    ``hm`` declared, as the blocks above run them."""
    parts = [
        "from heymarket_async import *  # noqa: F403",
        "from heymarket_async import HeymarketClient",
        "",
        "hm: HeymarketClient",
    ]
    for index, code in enumerate(blocks):
        parts += ["", "", f"async def readme_block_{index}() -> None:"]
        parts += [f"    {line}" if line.strip() else "" for line in code.splitlines()]
    return "\n".join(parts) + "\n"


class TestTypes:
    def test_the_readme_blocks_pass_mypy_strict_as_printed(
        self, tmp_path: Path, mypy_strict: MypyStrict
    ) -> None:
        checked = [b for b in BLOCKS if ROLES[next(m for m in ROLES if m in b)] == "run"]
        assert len(checked) == len(ROLES)
        (tmp_path / "readme_blocks.py").write_text(typed_module(checked), encoding="utf-8")
        # The same wrapping of a block that mypy --strict must refuse: the check can fail.
        canary = "async def lookup(phone: str) -> dict | None:\n    return None\n"
        (tmp_path / "canary.py").write_text(typed_module([canary]), encoding="utf-8")
        done = mypy_strict(tmp_path / "readme_blocks.py", tmp_path / "canary.py")
        errors = [line for line in done.stdout.splitlines() if ": error:" in line]
        assert errors, done.stdout + done.stderr
        assert all(line.startswith(str(tmp_path / "canary.py")) for line in errors), done.stdout
        assert "Missing type arguments for generic type" in done.stdout
