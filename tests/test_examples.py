"""examples/ runs as written against the emulator, passes ``mypy --strict``, and is what the
guides print.

Each example is imported from its file (examples/ is not a package) and driven against a
:class:`FakeHeymarket` on loopback, with the environment the example reads
(``HEYMARKET_API_KEY``, ``HEYMARKET_BASE_URL``) pointing at the fake. The web service also
runs as ``python examples/web_service.py``, and the pytest module under pytest with the plugin,
each in a subprocess. examples/arq_worker.py needs arq, which is not a dependency: it is run
with arq stubbed in tests/test_redis_limiter.py (``TestTheArqExample``).
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import json
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from heymarket_async import PermissionDeniedError, V2Position
from heymarket_async.testing import FakeHeymarket, Fault, RecordedRequest

from ._cli_helpers import clean_env, listing, threaded_fake
from .conftest import MypyStrict

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
KEY = "hm-example-key"

#: Each example, and the guide that prints it.
GUIDES = {
    "web_service.py": "web-service.md",
    "arq_worker.py": "workers.md",
    "nightly_export.py": "export.md",
    "test_with_the_emulator.py": "testing.md",
}


def load(name: str) -> ModuleType:
    """examples/``name`` imported as a module of its own."""
    spec = importlib.util.spec_from_file_location(f"example_{name[:-3]}", EXAMPLES / name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeHeymarket]:
    """An emulator, and the environment an example reads pointing at it."""
    async with FakeHeymarket(api_key=KEY) as fake:
        monkeypatch.setenv("HEYMARKET_API_KEY", KEY)
        monkeypatch.setenv("HEYMARKET_BASE_URL", fake.url)
        yield fake


class TestTheExamplesAreAllCovered:
    def test_every_example_is_known_here(self) -> None:
        # A new example needs a test here (and a guide that includes it).
        assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(GUIDES)


# The web service ---------------------------------------------------------------------------------

web_service = load("web_service.py")


@pytest.fixture
async def service(fake: FakeHeymarket) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(web_service.make_app())) as client:
        yield client


class TestWebService:
    async def test_one_client_lives_and_closes_with_the_app(self, fake: FakeHeymarket) -> None:
        app = web_service.make_app()
        async with TestClient(TestServer(app)) as client:
            hm = app[web_service.HEYMARKET]
            assert not hm.closed
            assert hm.base_url == fake.url
            for _ in range(2):
                assert (await client.get("/contacts/15105553344")).status == 404
            assert app[web_service.HEYMARKET] is hm  # the same client for every request
        assert hm.closed

    async def test_a_contact_is_looked_up_by_phone_in_any_format(
        self, fake: FakeHeymarket, service: TestClient[web.Request, web.Application]
    ) -> None:
        stored = fake.add_contact(phone="15105553344", first="Jordan", local_id="crm-7")
        answer = await service.get("/contacts/+1 (510) 555-3344")
        assert answer.status == 200
        body = await answer.json()
        assert body["id"] == stored["id"]
        assert body["phone"] == "15105553344"
        assert (body["first"], body["local_id"]) == ("Jordan", "crm-7")
        assert [r.json for r in fake.requests] == [{"phone": "15105553344"}]

    async def test_an_unknown_phone_is_404(
        self, service: TestClient[web.Request, web.Application]
    ) -> None:
        answer = await service.get("/contacts/15105553344")
        assert answer.status == 404
        assert await answer.json() == {"error": "no such contact"}

    async def test_what_is_not_a_phone_is_400_and_nothing_is_sent(
        self, fake: FakeHeymarket, service: TestClient[web.Request, web.Application]
    ) -> None:
        answer = await service.get("/contacts/call-me")
        assert answer.status == 400
        assert (await answer.json())["field"] == "phone"
        assert list(fake.requests) == []

    async def test_a_create_sent_twice_with_one_local_id_makes_one_contact(
        self, fake: FakeHeymarket, service: TestClient[web.Request, web.Application]
    ) -> None:
        created = []
        for first in ["Jordan", "Jo"]:
            body = {"phone": "+1 510 555 3344", "first": first, "local_id": "crm-1042"}
            answer = await service.post("/contacts", json=body)
            assert answer.status == 201
            created.append(await answer.json())
        assert created[0] == created[1]
        (stored,) = fake.contacts.values()
        assert stored["id"] == created[0]["id"]
        assert (stored["first"], stored["local_id"]) == ("Jo", "crm-1042")

    @pytest.mark.parametrize(
        "body",
        [{"phone": "15105553344"}, {"local_id": "crm-1"}, ["15105553344"], "not json"],
    )
    async def test_a_create_without_phone_and_local_id_is_400(
        self,
        fake: FakeHeymarket,
        service: TestClient[web.Request, web.Application],
        body: Any,
    ) -> None:
        data = body if isinstance(body, str) else json.dumps(body)
        answer = await service.post("/contacts", data=data)
        assert answer.status == 400
        assert list(fake.requests) == []

    async def test_a_rate_limit_is_503_with_retry_after(
        self, fake: FakeHeymarket, service: TestClient[web.Request, web.Application]
    ) -> None:
        # Longer than the client waits for (60 s): raised at once, passed on to the caller.
        fake.faults.add("POST /v1/contact/get", Fault.rate_limited(retry_after=120))
        answer = await service.get("/contacts/15105553344")
        assert answer.status == 503
        assert answer.headers["Retry-After"] == "120"
        assert len(fake.requests) == 1

    async def test_another_failure_is_502_and_the_log_line_masks_the_phone(
        self,
        fake: FakeHeymarket,
        service: TestClient[web.Request, web.Application],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        fake.faults.add("POST /v1/contact", Fault.status(401))
        body = {"phone": "15105553344", "local_id": "crm-1"}
        answer = await service.post("/contacts", json=body)
        assert answer.status == 502
        (record,) = [r for r in caplog.records if r.name == "web_service"]
        assert "401" in record.getMessage()
        assert KEY not in record.getMessage()
        assert fake.contacts == {}

    async def test_it_runs_as_a_script(self, fake: FakeHeymarket) -> None:
        stored = fake.add_contact(phone="15105553344", first="Jordan")
        with socket.socket() as probe:  # a free loopback port for the service
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = clean_env(
            HEYMARKET_API_KEY=KEY,
            HEYMARKET_BASE_URL=fake.url,
            PORT=str(port),
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLES / "web_service.py"),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            banner = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
            assert f"http://127.0.0.1:{port}" in banner.decode()
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/contacts/15105553344") as answer,
            ):
                assert answer.status == 200
                assert (await answer.json())["id"] == stored["id"]
            proc.send_signal(signal.SIGINT)  # Ctrl-C: aiohttp shuts down, the client closes
            _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0, err.decode()


# The nightly export ------------------------------------------------------------------------------

nightly_export = load("nightly_export.py")


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class TestNightlyExport:
    async def test_the_first_run_exports_every_contact_and_saves_a_finished_walk(
        self, fake: FakeHeymarket, tmp_path: Path
    ) -> None:
        ids = fake.seed(250)
        out, state = tmp_path / "day1.jsonl", tmp_path / "heymarket.state"
        async with fake.client() as hm:
            assert await nightly_export.export_changes(hm, out, state) == 250
        lines = read_lines(out)
        # The API's own objects (v2: with uuid and channels), one line per contact.
        assert sorted(line["id"] for line in lines) == list(ids)
        assert all("uuid" in line and "contact_channels" in line for line in lines)
        assert V2Position.from_json(state.read_text(encoding="utf-8")).done
        assert listing(tmp_path) == ["day1.jsonl", "heymarket.state"]

    async def test_each_next_run_exports_what_changed_since(
        self, fake: FakeHeymarket, tmp_path: Path
    ) -> None:
        ids = fake.seed(250)
        state = tmp_path / "heymarket.state"
        async with fake.client() as hm:
            await nightly_export.export_changes(hm, tmp_path / "day1.jsonl", state)
            for cid in ids[10:13]:
                fake.update_contact(cid, first="Changed")
            added = fake.add_contact(phone="15105550100", first="New")
            assert await nightly_export.export_changes(hm, tmp_path / "day2.jsonl", state) == 4
            assert await nightly_export.export_changes(hm, tmp_path / "day3.jsonl", state) == 0
        day2 = read_lines(tmp_path / "day2.jsonl")
        assert sorted(line["id"] for line in day2) == [*ids[10:13], added["id"]]
        assert [line["first"] for line in day2 if line["id"] != added["id"]] == ["Changed"] * 3
        assert (tmp_path / "day3.jsonl").read_text(encoding="utf-8") == ""

    async def test_a_contact_changed_during_the_walk_is_written_once_newest(
        self, fake: FakeHeymarket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ids = fake.seed(250)
        oldest = ids[0]  # on the walk's first page; changed, it comes again at the end

        def change(request: RecordedRequest) -> None:
            if request.route == "POST /v2/contacts/list" and request.number == 2:
                fake.update_contact(oldest, first="Newer")

        fake.on_request(change)
        dropped: list[set[int]] = []
        drop_lines = nightly_export.drop_lines

        def spy(path: Path, numbers: set[int]) -> None:
            dropped.append(set(numbers))
            drop_lines(path, numbers)

        monkeypatch.setattr(nightly_export, "drop_lines", spy)
        out = tmp_path / "day1.jsonl"
        async with fake.client() as hm:
            assert await nightly_export.export_changes(hm, out, tmp_path / "state") == 250
        assert dropped == [{0}]  # the walk did hand out the old version first
        lines = read_lines(out)
        assert sorted(line["id"] for line in lines) == list(ids)
        assert [line["first"] for line in lines if line["id"] == oldest] == ["Newer"]

    async def test_a_failed_run_keeps_the_state_so_the_next_exports_its_changes(
        self, fake: FakeHeymarket, tmp_path: Path
    ) -> None:
        ids = fake.seed(150)
        state = tmp_path / "heymarket.state"
        async with fake.client() as hm:
            await nightly_export.export_changes(hm, tmp_path / "day1.jsonl", state)
            saved = state.read_text(encoding="utf-8")
            for cid in ids[5:125]:  # more than a page of changes
                fake.update_contact(cid, first="Changed")
            # The run's second request fails: its first page of changes is in .part already.
            sent = len(fake.requests_to("POST /v2/contacts/list"))
            fake.faults.add("POST /v2/contacts/list", Fault.status(403), on=[sent + 2])
            with pytest.raises(PermissionDeniedError):
                await nightly_export.export_changes(hm, tmp_path / "day2.jsonl", state)
            assert state.read_text(encoding="utf-8") == saved
            assert not (tmp_path / "day2.jsonl").exists()
            assert read_lines(tmp_path / "day2.jsonl.part")  # some changes were read
            assert await nightly_export.export_changes(hm, tmp_path / "day2.jsonl", state) == 120
        day2 = read_lines(tmp_path / "day2.jsonl")
        assert sorted(line["id"] for line in day2) == list(ids[5:125])
        assert listing(tmp_path) == ["day1.jsonl", "day2.jsonl", "heymarket.state"]

    def test_main_reads_the_environment(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with threaded_fake(30, api_key=KEY) as fake:
            monkeypatch.setenv("HEYMARKET_API_KEY", KEY)
            monkeypatch.setenv("HEYMARKET_BASE_URL", fake.url)
            out, state = tmp_path / "out.jsonl", tmp_path / "state"
            assert nightly_export.main([str(out), str(state)]) == 0
        assert capsys.readouterr().out == f"30 contacts written to {out}\n"
        assert len(read_lines(out)) == 30
        assert nightly_export.main([]) == 2


# The pytest module -------------------------------------------------------------------------------


class TestThePytestModule:
    def test_it_passes_under_pytest_with_the_plugin(self, tmp_path: Path) -> None:
        # A user's project: pytest-asyncio in its default (strict) mode, warnings as errors.
        ini = tmp_path / "pytest.ini"
        ini.write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
        path = EXAMPLES / "test_with_the_emulator.py"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-c",
                str(ini),
                "--rootdir",
                str(tmp_path),
                "-p",
                "heymarket_async.testing.pytest_plugin",
                "-p",
                "no:cacheprovider",
                "-W",
                "error",
                "-q",
                str(path),
            ],
            env=clean_env(PYTHONPATH=str(ROOT)),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        tests = [
            node.name
            for node in ast.parse(path.read_text(encoding="utf-8")).body
            if isinstance(node, ast.AsyncFunctionDef) and node.name.startswith("test_")
        ]
        assert len(tests) >= 2
        assert done.returncode == 0, done.stdout + done.stderr
        assert re.search(rf"^{len(tests)} passed in ", done.stdout, re.M), done.stdout


# Types and the guides ----------------------------------------------------------------------------


class TestTypes:
    def test_every_example_passes_mypy_strict(self, mypy_strict: MypyStrict) -> None:
        # mypy reads this checkout's pyproject.toml, whose override lets arq (not installed
        # here) go unchecked.
        done = mypy_strict("examples")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"no issues found in {len(GUIDES)} source files" in done.stdout


SNIPPET = re.compile(r'^--8<-- "([^"]+)"\s*$', re.M)


class TestTheGuidesIncludeTheFiles:
    @pytest.mark.parametrize(("example", "guide"), sorted(GUIDES.items()))
    def test_the_guide_includes_the_whole_file(self, example: str, guide: str) -> None:
        text = (ROOT / "docs" / "guides" / guide).read_text(encoding="utf-8")
        assert f"examples/{example}" in SNIPPET.findall(text)
