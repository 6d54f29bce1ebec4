"""The installed command in a subprocess against the emulator: contents, kills, resume, sandbox.

The emulator runs in the test's event loop; the command is a real child process talking to it
over loopback, so a SIGINT or SIGKILL lands on a real process in the middle of a real walk.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from heymarket_async._cli._output import _HAS_ORJSON, STANDARD_COLUMNS, contact_record
from heymarket_async._cli._state import ExportPaths, load_state
from heymarket_async._convert import structure_contact
from heymarket_async.testing import FakeHeymarket, Fault

from ._cli_helpers import clean_env, listing


async def start_cli(
    *args: str, env: dict[str, str] | None = None, stdout: int = asyncio.subprocess.PIPE
) -> asyncio.subprocess.Process:
    """The command in a process of its own (``python -m heymarket_async._cli``), stderr piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "heymarket_async._cli",
        *args,
        stdout=stdout,
        stderr=asyncio.subprocess.PIPE,
        env=env if env is not None else clean_env(),
    )


async def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await start_cli(*args, env=env)
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def store_records(fake: FakeHeymarket) -> dict[int, Any]:
    """What an export holds for each stored contact now: the contact as the API sends it."""
    return {cid: fake.contacts[cid] for cid in fake.contacts}


def jsonl_ids(path: Path) -> list[int]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


@pytest.fixture
async def fake() -> AsyncIterator[FakeHeymarket]:
    async with FakeHeymarket(api_key="test") as fake:
        fake.seed(250)
        yield fake


def env_for(fake: FakeHeymarket) -> dict[str, str]:
    return clean_env(HEYMARKET_API_KEY="test", HEYMARKET_BASE_URL=fake.url)


async def served_bytes(fake: FakeHeymarket, contact_id: int) -> bytes:
    """The contact's JSON exactly as the emulator sends it (a list page joins these bytes)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{fake.url}/v1/contact/{contact_id}", headers={"Authorization": "Bearer test"}
        ) as resp,
    ):
        assert resp.status == 200
        return await resp.read()


def add_unusual_contacts(fake: FakeHeymarket) -> list[int]:
    """Contacts with a key the SDK has no field for, times whose digits a parse would change,
    tags as the API sends them, non-ASCII text, and cells a spreadsheet would run."""
    loyalty = {"tier": "gold", "since": "2023-07-01T00:00:00.5Z", "points": 1234}
    first = fake.add_contact(
        phone="15105550001",
        first="=HYPERLINK(1)",
        tags=[{"tag_id": 61}],
        loyalty_tier=loyalty,
        updated=datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=timezone.utc),
        created=datetime(2023, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    )
    second = fake.add_contact(phone="15105550002", first="Zoë", loyalty_tier=None)
    return [first["id"], second["id"]]


class TestExportContents:
    @pytest.mark.parametrize("api", ["v2", "v1"])
    async def test_jsonl_holds_every_contact_byte_for_byte_as_sent(
        self, fake: FakeHeymarket, tmp_path: Path, api: str
    ) -> None:
        unusual, zoe = add_unusual_contacts(fake)
        out = tmp_path / "contacts.jsonl"
        code, stdout, err = await cli("export", "-o", str(out), "--api", api, env=env_for(fake))
        assert code == 0, err
        assert stdout == ""
        assert err.startswith("heymarket-async: exported 252 contacts to ")
        lines = {json.loads(line)["id"]: line for line in out.read_bytes().splitlines()}
        assert len(lines) == 252
        assert listing(tmp_path) == ["contacts.jsonl"]
        for cid in [*range(1, 251, 7), unusual]:
            assert lines[cid] == await served_bytes(fake, cid), cid
        line = lines[unusual]
        assert (
            b'"loyalty_tier":{"tier":"gold","since":"2023-07-01T00:00:00.5Z","points":1234}' in line
        )
        assert b'"tags":[{"tag_id":61}]' in line
        assert b'"updated":"2024-01-02T03:04:05.120Z"' in line
        assert b'"created":"2023-01-02T03:04:05.000Z"' in line
        # The emulator escapes non-ASCII. The v2 export without orjson writes each contact's
        # own text from the page (the escape as sent); the others encode it again, as UTF-8.
        # The same value either way.
        as_sent = api == "v2" and not _HAS_ORJSON
        assert ("Zo\\u00eb" if as_sent else "Zoë").encode() in lines[zoe]
        assert json.loads(lines[zoe]) == json.loads(await served_bytes(fake, zoe))
        assert {cid: json.loads(line) for cid, line in lines.items()} == store_records(fake)

    async def test_normalized_jsonl_holds_the_sdks_records(
        self, fake: FakeHeymarket, tmp_path: Path
    ) -> None:
        unusual, _ = add_unusual_contacts(fake)
        out = tmp_path / "contacts.jsonl"
        code, _, err = await cli("export", "-o", str(out), "--normalized", env=env_for(fake))
        assert code == 0, err
        records = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
        assert records == {
            cid: json.loads(json.dumps(contact_record(structure_contact(fake.contacts[cid]))))
            for cid in fake.contacts
        }
        assert "loyalty_tier" not in records[unusual]
        assert records[unusual]["tags"] == [
            {"id": 61, "name": None, "color": None, "created": None, "updated": None}
        ]
        assert records[unusual]["updated"] == "2024-01-02T03:04:05.120000Z"

    @pytest.mark.parametrize("guard", [True, False])
    async def test_csv_reports_what_it_could_not_place_and_guards_formulas(
        self, fake: FakeHeymarket, tmp_path: Path, guard: bool
    ) -> None:
        unusual, _ = add_unusual_contacts(fake)
        out = tmp_path / "contacts.csv"
        args = ["export", "-o", str(out)] + ([] if guard else ["--no-formula-guard"])
        code, _, err = await cli(*args, env=env_for(fake))
        assert code == 0, err
        assert err.splitlines()[-1] == "heymarket-async: not in the CSV: loyalty_tier (2 contacts)"
        rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out.read_text(), newline=""))}
        row = rows[str(unusual)]
        assert row["first"] == ("'=HYPERLINK(1)" if guard else "=HYPERLINK(1)")
        assert (row["updated"], row["tags"]) == ("2024-01-02T03:04:05.120Z", "61")

    async def test_csv_headers_of_fields_named_alike_once_guarded_stay_apart(
        self, tmp_path: Path
    ) -> None:
        async with FakeHeymarket(contact_fields=[(1, "=x"), (2, "'=x")]) as fake:
            fake.seed(3)
            out = tmp_path / "contacts.csv"
            code, _, err = await cli("export", "-o", str(out), "-q", env=env_for(fake))
        assert (code, err) == (0, "")
        header = next(csv.reader(io.StringIO(out.read_text(), newline="")))
        assert header[-2:] == ["'=x (1)", "'=x (2)"]

    async def test_csv_over_v1_has_a_column_per_field(
        self, fake: FakeHeymarket, tmp_path: Path
    ) -> None:
        out = tmp_path / "contacts.csv"
        code, _, err = await cli("export", "-o", str(out), "--api", "v1", "-q", env=env_for(fake))
        assert (code, err) == (0, "")
        rows = list(csv.DictReader(io.StringIO(out.read_text(), newline="")))
        names = [name for _, name in fake.contact_fields]
        assert list(rows[0]) == [*STANDARD_COLUMNS, *names]
        assert len(rows) == 250
        expected = store_records(fake)
        assert {int(r["id"]) for r in rows} == set(expected)
        for row in rows:
            record = expected[int(row["id"])]
            for key in ("uuid", "phone", "first", "last", "email", "updated"):
                assert row[key] == (record[key] or ""), key
            for field_id, name in fake.contact_fields:
                assert row[name] == record["custom"].get(str(field_id), ""), name

    async def test_stdout_export(self, fake: FakeHeymarket) -> None:
        code, stdout, err = await cli(
            "export", "-o", "-", "--since", "2000-01-01", env=env_for(fake)
        )
        assert code == 0, err
        assert len(stdout.splitlines()) == 250


async def wait_for_state(path: Path, at_least: int) -> None:
    """Poll the state file until the export has saved ``at_least`` contacts (a few ms a step)."""
    for _ in range(2000):
        try:
            state = load_state(path)
        except Exception:  # replaced under our feet: read again
            state = None
        if state is not None and state.contacts >= at_least:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"the export never reached {at_least} contacts")


class TestResume:
    # Each walk lasts about a second, so the state (saved every half second during a walk) is
    # on disk well before the end: v2 in 30 pages at 0.1 s with three in flight, v1 in 100
    # pages of 30 at 0.01 s one after another.
    @pytest.mark.parametrize(
        ("sig", "fmt", "api", "latency", "with_since"),
        [
            (signal.SIGINT, "jsonl", "v2", 0.1, False),
            (signal.SIGKILL, "jsonl", "v1", 0.01, False),
            (signal.SIGKILL, "csv", "v2", 0.1, True),
        ],
    )
    async def test_killed_midway_then_resumed_is_exactly_once(
        self,
        tmp_path: Path,
        sig: signal.Signals,
        fmt: str,
        api: str,
        latency: float,
        with_since: bool,
    ) -> None:
        async with FakeHeymarket(api_key="test", latency=latency) as fake:
            fake.seed(3000)
            out = tmp_path / f"contacts.{fmt}"
            paths = ExportPaths.for_output(out)
            args = ["export", "-o", str(out), "--api", api]
            expected = sorted(fake.contacts)
            if with_since:
                by_time = sorted(fake.contacts, key=lambda cid: fake.contacts[cid]["updated"])
                since = fake.contacts[by_time[299]]["updated"]
                args += ["--since", since]
                expected = sorted(by_time[300:])
            proc = await start_cli(*args, env=env_for(fake), stdout=asyncio.subprocess.DEVNULL)
            await wait_for_state(paths.state, 300)
            proc.send_signal(sig)
            _, err = await proc.communicate()
            if sig == signal.SIGINT:
                assert proc.returncode == 130
                assert "run the same command with --resume to continue" in err.decode()
                assert "Traceback" not in err.decode()
            else:
                assert proc.returncode == -signal.SIGKILL
            assert not out.exists()
            saved = load_state(paths.state)
            assert saved is not None
            assert 300 <= saved.contacts < len(expected)

            fake.requests.clear()
            code, _, err2 = await cli(*args, "--resume", env=env_for(fake))
            assert code == 0, err2
            assert f"{saved.contacts:,} of them by an earlier run" in err2
            (first, *_) = [
                r for r in fake.requests if r.path in ("/v1/contacts", "/v2/contacts/list")
            ]
            # It did not start over: both walks start from a cursor.
            assert first.json.get("date")
            if fmt == "jsonl":
                ids = jsonl_ids(out)
            else:
                lines = out.read_text().splitlines()
                assert lines[0].startswith("id,uuid,")
                ids = [int(r["id"]) for r in csv.DictReader(io.StringIO(out.read_text()))]
            assert sorted(ids) == expected
            assert len(ids) == len(set(ids))
            assert listing(tmp_path) == [out.name]


async def cli_patched(script: str, *args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """The command run by ``script`` (which patches it to stop itself somewhere), then ``main``."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script + "\nfrom heymarket_async._cli import main\nsys.exit(main(sys.argv[1:]))\n",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


#: Test-side patches that make the child send itself a signal at one point of the command.
SIGNAL_WHILE_PARSING = """
import os, sys
from heymarket_async._cli import _app
parse = _app.build_parser
def build_parser(**kw):
    os.kill(os.getpid(), int(os.environ["TEST_SIGNAL"]))
    return parse(**kw)
_app.build_parser = build_parser
"""
#: The signal while the SDK (aiohttp first) is imported, before the command's own code runs.
SIGNAL_WHILE_THE_SDK_LOADS = """
import os, sys
class SignalAtAiohttp:
    def find_spec(self, name, path=None, target=None):
        if name == "aiohttp":
            os.kill(os.getpid(), int(os.environ["TEST_SIGNAL"]))
        return None
sys.meta_path.insert(0, SignalAtAiohttp())
"""
SIGNAL_AS_THE_LOOP_STARTS = """
import os, sys
from heymarket_async._cli import _app
run = _app._run
async def early_run(*args):
    os.kill(os.getpid(), int(os.environ["TEST_SIGNAL"]))
    return await run(*args)
_app._run = early_run
"""
#: SIGKILL at the removal of the state once the output is in place (after the rename).
KILL_AFTER_THE_RENAME = """
import os, pathlib, signal, sys
unlink = pathlib.Path.unlink
def killing_unlink(self, *args, **kw):
    if self.name.endswith(".resume.json") and self.with_name(self.name[:-12]).exists():
        os.kill(os.getpid(), signal.SIGKILL)
    return unlink(self, *args, **kw)
pathlib.Path.unlink = killing_unlink
"""


def kill_at_replace(suffix: str) -> str:
    """A patch: SIGKILL as a file whose name ends in ``suffix`` is about to be put in place."""
    return f"""
import os, signal, sys
replace = os.replace
def killing_replace(src, dst, *args, **kw):
    if str(dst).endswith({suffix!r}):
        os.kill(os.getpid(), signal.SIGKILL)
    return replace(src, dst, *args, **kw)
os.replace = killing_replace
"""


#: SIGKILL as the ``--since-last`` mark (``mark.json``) is about to replace the old one.
KILL_AT_THE_MARK = kill_at_replace("mark.json")
#: SIGKILL just after the finished export's resume state is removed (the output in place).
KILL_AFTER_THE_STATE = """
import os, pathlib, signal, sys
unlink = pathlib.Path.unlink
def unlink_then_kill(self, *args, **kw):
    finished = self.name.endswith(".resume.json") and self.with_name(self.name[:-12]).exists()
    unlink(self, *args, **kw)
    if finished:
        os.kill(os.getpid(), signal.SIGKILL)
pathlib.Path.unlink = unlink_then_kill
"""
#: SIGKILL at the first save of a resume state (the partial file is open and cut by then).
KILL_AT_THE_FIRST_SAVE = kill_at_replace(".resume.json")


class TestEarlySignals:
    """SIGINT or SIGTERM in the command's first moments: one line, exit 130 or 143, the same as
    later, no traceback, and no file left when no contact was saved."""

    @pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
    @pytest.mark.parametrize(
        ("route", "flags"),
        [
            ("POST /v1/contacts", ["--api", "v1"]),  # the output open, the first page asked
            # The output open, the first v2 page asked (the count goes beside it, not before).
            ("POST /v2/contacts/list", ["--no-dedupe"]),
            ("POST /v2/contacts/list", []),  # the newest-updated request: before the output
            ("POST /v1/contact-fields", ["--format", "csv"]),  # the same, for the CSV header
        ],
    )
    async def test_while_the_first_request_is_in_flight(
        self, tmp_path: Path, sig: signal.Signals, route: str, flags: list[str]
    ) -> None:
        async with FakeHeymarket(api_key="test") as fake:
            fake.seed(50)
            fake.faults.add(route, Fault.hang())
            args = ["export", "-o", str(tmp_path / "contacts.out"), *flags]
            proc = await start_cli(*args, env=env_for(fake), stdout=asyncio.subprocess.DEVNULL)
            for _ in range(2000):  # until the request is in flight (a few ms a step)
                if fake.requests_to(route):
                    break
                await asyncio.sleep(0.005)
            proc.send_signal(sig)
            _, err = await proc.communicate()
        assert proc.returncode == (130 if sig == signal.SIGINT else 143)
        assert err.decode() == "heymarket-async: interrupted\n"
        assert listing(tmp_path) == []

    @pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
    @pytest.mark.parametrize(
        "script",
        [SIGNAL_WHILE_THE_SDK_LOADS, SIGNAL_WHILE_PARSING, SIGNAL_AS_THE_LOOP_STARTS],
        ids=["while-the-sdk-loads", "while-parsing", "as-the-loop-starts"],
    )
    async def test_before_the_event_loop_handles_signals(
        self, tmp_path: Path, sig: signal.Signals, script: str
    ) -> None:
        code, _, err = await cli_patched(
            script,
            *["export", "--sandbox", "10", "-o", str(tmp_path / "contacts.jsonl")],
            env=clean_env(TEST_SIGNAL=str(int(sig))),
        )
        assert code == (130 if sig == signal.SIGINT else 143)
        assert err == "heymarket-async: interrupted\n"
        assert listing(tmp_path) == []


class TestKilledWhileFinishing:
    """A kill at any point of an export's start or end leaves files that --resume finishes."""

    @pytest.mark.parametrize("api", ["v1", "v2"])  # v2: with --dedupe
    async def test_after_the_rename_resume_only_removes_the_state(
        self, fake: FakeHeymarket, tmp_path: Path, api: str
    ) -> None:
        out = tmp_path / "contacts.jsonl"
        paths = ExportPaths.for_output(out)
        args = ["export", "-o", str(out), "--api", api]
        code, _, _ = await cli_patched(KILL_AFTER_THE_RENAME, *args, env=env_for(fake))
        assert code == -signal.SIGKILL
        assert listing(tmp_path) == [out.name, paths.state.name]
        complete = out.read_bytes()
        assert sorted(jsonl_ids(out)) == sorted(fake.contacts)

        fake.requests.clear()
        code, _, err = await cli(*args, "--resume", env=env_for(fake))
        assert (code, err) == (
            0,
            f"heymarket-async: {out} was already complete: removed {paths.state.name}\n",
        )
        assert listing(tmp_path) == [out.name]
        assert out.read_bytes() == complete
        assert not [r for r in fake.requests if r.path.startswith("/v")]  # nothing read again

    async def test_after_the_rename_resume_saves_the_since_last_mark(
        self, fake: FakeHeymarket, tmp_path: Path
    ) -> None:
        out, mark = tmp_path / "contacts.jsonl", tmp_path / "mark.json"
        paths = ExportPaths.for_output(out)
        args = ["export", "-o", str(out), "--since-last", str(mark)]
        code, _, _ = await cli_patched(KILL_AT_THE_MARK, *args, env=env_for(fake))
        assert code == -signal.SIGKILL
        assert not mark.exists()
        assert listing(tmp_path) == sorted([out.name, paths.state.name, "mark.json.tmp"])
        code, _, err = await cli(*args, "--resume", env=env_for(fake))
        assert code == 0, err
        assert mark.exists()
        # The mark is the end of that walk: the next run finds nothing changed since.
        again = tmp_path / "again.jsonl"
        code, _, err = await cli(
            "export", "-o", str(again), "--since-last", str(mark), env=env_for(fake)
        )
        assert code == 0, err
        assert err.startswith("heymarket-async: exported 0 contacts")

    async def test_the_since_last_mark_is_saved_before_the_state_goes(
        self, fake: FakeHeymarket, tmp_path: Path
    ) -> None:
        # Killed once the state is gone: nothing left to resume, so the mark must be saved
        # already, or the next run would export the same contacts again.
        out, mark = tmp_path / "contacts.jsonl", tmp_path / "mark.json"
        args = ["export", "-o", str(out), "--since-last", str(mark)]
        code, _, _ = await cli_patched(KILL_AFTER_THE_STATE, *args, env=env_for(fake))
        assert code == -signal.SIGKILL
        assert listing(tmp_path) == sorted([out.name, mark.name])
        assert sorted(jsonl_ids(out)) == sorted(fake.contacts)
        again = tmp_path / "again.jsonl"
        code, _, err = await cli(
            "export", "-o", str(again), "--since-last", str(mark), env=env_for(fake)
        )
        assert code == 0, err
        assert err.startswith("heymarket-async: exported 0 contacts")

    @pytest.mark.parametrize("fmt", ["jsonl", "csv"])
    async def test_a_new_export_killed_before_its_first_save_resumes(
        self, fake: FakeHeymarket, tmp_path: Path, fmt: str
    ) -> None:
        out = tmp_path / f"contacts.{fmt}"
        paths = ExportPaths.for_output(out)
        # An interrupted export: some contacts saved.
        fake.faults.add("POST /v1/contacts", Fault.status(503), on=range(3, 100))
        args = ["export", "-o", str(out), "--api", "v1"]
        code, _, err = await cli(*args, "--max-retries", "0", env=env_for(fake))
        assert code == 1, err
        fake.faults.clear()
        interrupted = load_state(paths.state)
        assert interrupted is not None
        assert interrupted.contacts > 0
        # A new export of the same file (no --resume) cuts the partial file, then dies.
        code, _, _ = await cli_patched(KILL_AT_THE_FIRST_SAVE, *args, env=env_for(fake))
        assert code == -signal.SIGKILL
        assert paths.part.stat().st_size < interrupted.bytes

        code, _, err = await cli(*args, "--resume", env=env_for(fake))
        assert code == 0, err
        if fmt == "jsonl":
            ids = jsonl_ids(out)
        else:
            ids = [int(r["id"]) for r in csv.DictReader(io.StringIO(out.read_text()))]
        assert sorted(ids) == sorted(fake.contacts)
        assert listing(tmp_path) == [out.name]


class TestSandbox:
    async def test_sandbox_needs_no_account(self, tmp_path: Path) -> None:
        out = tmp_path / "contacts.jsonl"
        code, _, err = await cli("export", "--sandbox", "300", "-o", str(out))
        assert code == 0, err
        ids = jsonl_ids(out)
        assert sorted(ids) == list(range(1, 301))
        # The sandbox is seeded the same every run: a resumed sandbox export continues it.
        seeded = FakeHeymarket()
        seeded.seed(300, seed=0)
        first = json.loads(out.read_text().splitlines()[0])
        assert first == store_records(seeded)[first["id"]]


class TestFakeServer:
    async def test_serves_until_sigterm(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "heymarket_async._cli",
            "fake-server",
            "--port",
            "0",
            "--contacts",
            "25",
            stdout=asyncio.subprocess.PIPE,
            env=clean_env(),
        )
        try:
            assert proc.stdout is not None
            line = (await proc.stdout.readline()).decode()
            url = line.split()[-1]
            assert url.startswith("http://127.0.0.1:")
            code, out, _ = await cli("count", "--base-url", url, "--api-key", "test")
            assert (code, out) == (0, "25\n")
        finally:
            proc.terminate()
            await proc.communicate()
        assert proc.returncode == 0


class TestExitCodes:
    async def test_bad_flag_is_2_without_traceback(self) -> None:
        code, _, err = await cli("export", "--format", "xml")
        assert code == 2
        assert "invalid choice" in err
        assert "Traceback" not in err

    async def test_rejected_key_is_1_with_status_and_request_id(self, fake: FakeHeymarket) -> None:
        env = clean_env(HEYMARKET_API_KEY="not-the-key", HEYMARKET_BASE_URL=fake.url)
        code, _, err = await cli("export", "-o", "-", env=env)
        assert code == 1
        lines = err.splitlines()
        assert lines[0].startswith("heymarket-async: error: 401 Unauthorized for POST ")
        assert "(request id " in lines[0]
        assert "not-the-key" not in err
        assert "Traceback" not in err


def test_a_closed_stdout_stops_quietly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "heymarket_async._cli", "export", "--sandbox", "5000", "-o", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    # (Which contact comes first depends on which part's page arrives first.)
    assert proc.stdout.read(10).startswith(b'{"id":')
    proc.stdout.close()  # like `| head -c 10`
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=30) == 141
    assert err == b""


@pytest.mark.parametrize("command", [["fields"], ["get", "1"], ["count"]])
def test_a_closed_stdout_stops_every_command_quietly(command: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes (like `| head -0`)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "heymarket_async._cli", *command, "--sandbox", "5"],
            stdout=write,
            stderr=subprocess.PIPE,
            env=clean_env(),
            timeout=30,
        )
    finally:
        os.close(write)
    assert (proc.returncode, proc.stderr) == (141, b"")


def test_console_script_is_declared() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "heymarket-async"]
    assert script.value == "heymarket_async._cli:main"
