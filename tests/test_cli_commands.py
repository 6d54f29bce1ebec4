"""count, fields and get, in process against the emulator: output, and exit 1 with one line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from heymarket_async._cli import _sandbox
from heymarket_async._cli._console import EXIT_FAILURE, EXIT_USAGE
from heymarket_async._cli._output import contact_record
from heymarket_async._cli._state import ExportPaths, ExportState, save_state
from heymarket_async._convert import structure_contact
from heymarket_async.testing import FakeHeymarket, Fault

from ._cli_helpers import listing, run, threaded_fake


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHeymarket]:
    with threaded_fake(40) as fake:
        yield fake


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch, fake: FakeHeymarket) -> None:
    # tests/conftest.py has already cleared the other Heymarket variables.
    monkeypatch.setenv("HEYMARKET_API_KEY", "test")
    monkeypatch.setenv("HEYMARKET_BASE_URL", fake.url)


class TestCount:
    def test_prints_the_count(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert run(["count"], capsys) == (0, "40\n", "")

    def test_since_counts_the_later_ones(
        self, fake: FakeHeymarket, capsys: pytest.CaptureFixture[str]
    ) -> None:
        times = sorted(c["updated"] for c in fake.contacts.values())
        code, out, _ = run(["count", "--since", times[29]], capsys)
        assert (code, out) == (0, "10\n")


class TestFields:
    def test_prints_ids_and_names_as_json(
        self, fake: FakeHeymarket, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(["fields"], capsys)
        assert code == 0
        assert json.loads(out) == [{"id": i, "name": n} for i, n in fake.contact_fields]


class TestGet:
    def expected(self, fake: FakeHeymarket, contact_id: int) -> object:
        return json.loads(json.dumps(contact_record(structure_contact(fake.contacts[contact_id]))))

    def test_by_id(self, fake: FakeHeymarket, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(["get", "7"], capsys)
        assert code == 0
        assert json.loads(out) == self.expected(fake, 7)

    def test_by_uuid(self, fake: FakeHeymarket, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(["get", fake.contacts[8]["uuid"]], capsys)
        assert code == 0
        assert json.loads(out)["id"] == 8

    def test_by_phone(self, fake: FakeHeymarket, capsys: pytest.CaptureFixture[str]) -> None:
        phone = fake.contacts[9]["phone"]
        code, out, _ = run(["get", f"+{phone}"], capsys)
        assert (code, json.loads(out)["id"]) == (0, 9)
        code, out, _ = run(["get", "--phone", phone], capsys)
        assert (code, json.loads(out)["id"]) == (0, 9)

    @pytest.mark.parametrize("value", ["\u00b2", "\u0661", "\u0661\u0662"])
    def test_non_ascii_digits_are_not_an_id(
        self, value: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # str.isdigit() takes them, but "\u00b2" is no int and "\u0661" would read as id 1.
        code, out, err = run(["get", value], capsys)
        assert (code, out) == (EXIT_USAGE, "")
        assert err.startswith("heymarket-async: error: phone:")

    def test_missing_contact_is_one_line_with_the_request_id(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(["get", "999999"], capsys)
        assert code == EXIT_FAILURE
        assert out == ""
        assert err.startswith("heymarket-async: error: 404 Not Found for GET ")
        assert "(request id " in err
        assert err.count("\n") == 1


class TestExportInProcess:
    def test_resume_with_nothing_saved_says_so(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = tmp_path / "c.jsonl"
        code, _, err = run(["export", "-o", str(out), "--resume"], capsys)
        assert code == 0
        assert (
            err.splitlines()[0]
            == f"heymarket-async: nothing to resume for {out}: starting a new export"
        )
        assert len(out.read_text().splitlines()) == 40

    def test_a_missing_directory_is_exit_1(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = tmp_path / "nowhere" / "c.jsonl"
        code, _, err = run(["export", "-o", str(out)], capsys)
        assert code == EXIT_FAILURE
        assert err == f"heymarket-async: error: {out}.part: No such file or directory\n"

    def test_a_tampered_position_is_refused_and_the_file_kept(
        self, fake: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = tmp_path / "c.jsonl"
        paths = ExportPaths.for_output(out)
        paths.part.write_bytes(b'{"id": 1}\n')
        state = ExportState(
            format="jsonl",
            api="v2",
            source=fake.url,
            since=None,
            bytes=10,
            contacts=1,
            position={"kind": "v2", "page": "seven"},
        )
        save_state(paths.state, state)
        code, _, err = run(["export", "-o", str(out), "--resume"], capsys)
        assert code == EXIT_USAGE
        assert err.startswith("heymarket-async: error: resume")
        assert paths.part.read_bytes() == b'{"id": 1}\n'


class TestNetworkFailureMidExport:
    def test_failure_keeps_the_pages_and_resume_completes(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with threaded_fake(450) as fake:
            monkeypatch.setenv("HEYMARKET_BASE_URL", fake.url)
            # After eight list requests (the newest-updated one, then the walk's first pages,
            # the three boundary pages of its four parts among them), every request fails, and
            # nothing is retried.
            fake.faults.add("POST /v2/contacts/list", Fault.status(503), on=range(9, 40))
            out = tmp_path / "c.jsonl"
            code, _, err = run(["export", "-o", str(out), "--max-retries", "0"], capsys)
            assert code == EXIT_FAILURE
            first, second = err.splitlines()
            assert first.startswith("heymarket-async: error: 503 Service Unavailable for POST ")
            assert second.endswith("contacts saved; run the same command with --resume to continue")
            assert not out.exists()

            fake.faults.clear()
            code, _, err = run(["export", "-o", str(out), "--resume"], capsys)
            assert code == 0, err
            ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
            assert sorted(ids) == sorted(fake.contacts)
            assert "of them by an earlier run" in err


class TestSandboxRateLimit:
    def test_the_rate_limit_asked_for_reaches_the_sandbox_client(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        seen: list[dict[str, Any]] = []
        original = FakeHeymarket.client

        def spy(self: FakeHeymarket, **kwargs: Any) -> Any:
            seen.append(kwargs)
            return original(self, **kwargs)

        monkeypatch.setattr(FakeHeymarket, "client", spy)
        assert run(["count", "--sandbox", "3", "--rate-limit", "60"], capsys)[:2] == (0, "3\n")
        assert run(["count", "--sandbox", "3"], capsys)[:2] == (0, "3\n")
        assert [kwargs["rate_limit"] for kwargs in seen] == [60, None]


class TestSandboxInProcess:
    def test_count_and_export(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert run(["count", "--sandbox", "7"], capsys) == (0, "7\n", "")
        out = tmp_path / "c.csv"
        code, _, err = run(["export", "--sandbox", "120", "-o", str(out)], capsys)
        assert code == 0, err
        assert len(out.read_text().splitlines()) == 121

    def test_resume_against_another_source_is_refused(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = tmp_path / "c.jsonl"
        paths = ExportPaths.for_output(out)
        paths.part.write_bytes(b"")
        save_state(
            paths.state,
            ExportState(
                format="jsonl",
                api="v2",
                source="sandbox:99",
                since=None,
                bytes=0,
                contacts=0,
                position=None,
            ),
        )
        code, _, err = run(["export", "--sandbox", "5", "-o", str(out), "--resume"], capsys)
        assert code == EXIT_USAGE
        assert "is for --base-url sandbox:99, not sandbox:5" in err


class TestSignals:
    def test_ctrl_c_after_the_export_finished_exits_0(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        real_sandbox = _sandbox.sandbox

        @contextlib.asynccontextmanager
        async def sandbox(*args: Any) -> AsyncIterator[Any]:
            async with real_sandbox(*args) as client:
                yield client
                # The file is complete; Ctrl-C arrives while the emulator is being closed.
                os.kill(os.getpid(), signal.SIGINT)
                await asyncio.sleep(0.05)

        monkeypatch.setattr(_sandbox, "sandbox", sandbox)
        out = tmp_path / "c.jsonl"
        code, _, err = run(["export", "--sandbox", "50", "-o", str(out)], capsys)
        assert (code, err.count("\n")) == (0, 1), err
        assert err.startswith("heymarket-async: exported 50 contacts")
        assert len(out.read_text().splitlines()) == 50
        assert listing(tmp_path) == ["c.jsonl"]


class TestFailures:
    def test_a_rejected_key_is_exit_1_and_never_echoed(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("HEYMARKET_API_KEY", "sk-wrong-key-1234")
        code, out, err = run(["count"], capsys)
        assert code == EXIT_FAILURE
        assert err.startswith("heymarket-async: error: 401 Unauthorized for POST ")
        assert "(request id " in err
        assert "sk-wrong-key-1234" not in out + err
        code, _, err = run(["count", "--api-key", "sk-flag-key-5678"], capsys)
        assert code == EXIT_FAILURE
        assert "sk-flag-key-5678" not in err

    def test_a_server_error_is_exit_1(
        self, fake: FakeHeymarket, capsys: pytest.CaptureFixture[str]
    ) -> None:
        fake.faults.add("POST /v1/contact-fields", Fault.status(503, body="html"), times=10)
        try:
            code, _, err = run(["fields", "--max-retries", "0"], capsys)
        finally:
            fake.faults.clear()
        assert code == EXIT_FAILURE
        assert err.startswith("heymarket-async: error: 503 Service Unavailable for POST ")
        assert err.count("\n") == 1

    def test_retries_are_shown_one_line_each(
        self, fake: FakeHeymarket, capsys: pytest.CaptureFixture[str]
    ) -> None:
        fake.faults.add("POST /v1/contact-fields", Fault.rate_limited(retry_after=0), times=1)
        try:
            code, _, err = run(["fields", "--max-retries", "1"], capsys)
        finally:
            fake.faults.clear()
        assert code == 0, err
        assert err.startswith("heymarket-async: retrying POST /v1/contact-fields in 0.00 s")
        assert err.count("\n") == 1
        # The command's handler goes with the command.
        handlers = logging.getLogger("heymarket_async").handlers
        assert [type(h) for h in handlers] == [logging.NullHandler]

    def test_quiet_export_shows_no_retries(
        self, fake: FakeHeymarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        fake.faults.add("POST /v2/contacts/list", Fault.rate_limited(retry_after=0), times=1)
        try:
            code, _, err = run(["export", "-q", "-o", str(tmp_path / "c.jsonl")], capsys)
        finally:
            fake.faults.clear()
        assert (code, err) == (0, "")
        assert len(fake.requests_to("POST /v2/contacts/list")) >= 2

    def test_nothing_listening_is_exit_1(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("HEYMARKET_BASE_URL", "http://127.0.0.1:9")
        code, _, err = run(["count", "--max-retries", "0"], capsys)
        assert code == EXIT_FAILURE
        assert err.startswith("heymarket-async: error: ")
        assert err.count("\n") == 1
        assert "Traceback" not in err


class TestNothingSaved:
    """An export that fails before it saves a contact leaves no file and suggests no --resume."""

    @pytest.mark.parametrize(
        "flags",
        [
            ["--api", "v1"],  # the first request is the first page: the output is already open
            ["--api", "v2", "--no-dedupe"],  # the same, with the walk's count first
            ["--api", "v2"],  # the newest-updated request, before the output opens
            ["--format", "csv"],  # the custom fields, before the output opens
        ],
    )
    def test_a_rejected_key(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        flags: list[str],
    ) -> None:
        monkeypatch.setenv("HEYMARKET_API_KEY", "not-the-key")
        code, _, err = run(["export", "-o", str(tmp_path / "c.out"), *flags], capsys)
        assert code == EXIT_FAILURE
        assert err.startswith("heymarket-async: error: 401 Unauthorized for POST ")
        assert err.count("\n") == 1
        assert "--resume" not in err
        assert listing(tmp_path) == []

    @pytest.mark.parametrize("api", ["v1", "v2"])
    def test_an_unreachable_host(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        api: str,
    ) -> None:
        monkeypatch.setenv("HEYMARKET_BASE_URL", f"http://127.0.0.1:{closed_port()}")
        out = tmp_path / "c.jsonl"
        code, _, err = run(
            ["export", "-o", str(out), "--api", api, "--no-dedupe", "--max-retries", "0"], capsys
        )
        assert code == EXIT_FAILURE
        assert err.startswith("heymarket-async: error: cannot connect")
        assert err.count("\n") == 1
        assert listing(tmp_path) == []

    def test_an_earlier_export_of_the_same_file_is_kept_when_its_resume_fails(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        # The contacts saved before are not this run's to throw away.
        out = tmp_path / "c.jsonl"
        paths = ExportPaths.for_output(out)
        with threaded_fake(450) as fake:
            monkeypatch.setenv("HEYMARKET_BASE_URL", fake.url)
            fake.faults.add("POST /v2/contacts/list", Fault.status(503), on=range(9, 40))
            code, _, err = run(["export", "-o", str(out), "--max-retries", "0"], capsys)
            assert code == EXIT_FAILURE
            saved = paths.part.read_bytes()
            assert saved
            fake.faults.clear()
            monkeypatch.setenv("HEYMARKET_API_KEY", "not-the-key")
            code, _, err = run(["export", "-o", str(out), "--resume"], capsys)
        assert code == EXIT_FAILURE
        assert "run the same command with --resume to continue" in err
        assert paths.part.read_bytes() == saved
        assert paths.state.exists()


def closed_port() -> int:
    """A loopback port that nothing listens on (just released by a socket bound to it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_get_of_ten_digits_not_found_hints_at_a_phone(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["get", "15105550001", "--sandbox", "5"], capsys)
    assert code == EXIT_FAILURE
    assert "the digits were read as a v1 id; for a phone, put + first" in err
    assert "15105550001" not in err  # masked in the error, not repeated by the hint
    code, _, err = run(["get", "77", "--sandbox", "5"], capsys)
    assert code == EXIT_FAILURE
    assert "for a phone" not in err
