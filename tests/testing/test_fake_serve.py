"""The separate-process runner: ``python -m heymarket_async.testing``."""

from __future__ import annotations

import asyncio
import io
import os
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from _fake_http import has_ipv6_loopback

from heymarket_async import HeymarketClient
from heymarket_async.testing import FakeHeymarket, _serve


class TestParser:
    def test_defaults(self) -> None:
        args = _serve.build_parser().parse_args([])
        assert (args.port, args.contacts, args.latency_ms, args.order, args.api_key) == (
            8787,
            0,
            0.0,
            "newest_first",
            "test",
        )

    def test_rejects_an_unknown_order(self) -> None:
        with pytest.raises(SystemExit):
            _serve.build_parser().parse_args(["--order", "random"])

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--contacts", "-5"], "--contacts: '-5' is not an int >= 0"),
            (["--port", "99999"], "--port: '99999' is not an int from 0 to 65535"),
            (["--port", "-1"], "--port: '-1' is not an int from 0 to 65535"),
            (["--tie-group-size", "0"], "--tie-group-size: '0' is not an int >= 1"),
            (["--latency-ms", "inf"], "--latency-ms: 'inf' is not a duration"),
            (["--record", "-1"], "--record: '-1' is not an int >= 0"),
            (["--render-cache", "0"], "--render-cache: '0' is not an int >= 1"),
            (["--cont", "5"], "unrecognized arguments: --cont"),
        ],
    )
    def test_bad_values_are_usage_errors(
        self, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as info:
            _serve.build_parser().parse_args(argv)
        assert info.value.code == 2
        assert message in capsys.readouterr().err


class TestSetupErrors:
    def test_a_seed_the_store_refuses_is_one_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert _serve.main(["--port", "0", "--contacts", "99999999999"]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert err == "python -m heymarket_async.testing: error: seeded ids stop at 9999999\n"

    def test_a_port_in_use_is_one_line(self) -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            proc = subprocess.run(
                [sys.executable, "-m", "heymarket_async._cli", "fake-server", "--port", str(port)],
                capture_output=True,
                text=True,
                timeout=30,
            )
        assert proc.returncode == 2
        assert proc.stdout == ""
        assert proc.stderr.startswith(
            f"heymarket-async fake-server: error: cannot listen on 127.0.0.1 port {port}: "
        )
        assert proc.stderr.count("\n") == 1


async def read_url(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
    assert line.startswith("Heymarket emulator listening on http://127.0.0.1:"), line
    return line.rsplit(" ", 1)[1].strip()


class TestSubprocess:
    @pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
    @pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
    async def test_serves_seeded_contacts_and_stops_on_a_signal(self, sig: int) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "heymarket_async.testing",
            "--port",
            "0",
            "--contacts",
            "1000",
            "--order",
            "oldest_first",
            "--api-key",
            "k1",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )
        try:
            url = await read_url(process)
            async with HeymarketClient(api_key="k1", base_url=url) as hm:
                assert await hm.count_contacts() == 1000
                assert [c.id for c in await hm.list_contacts()][:3] == [1, 2, 3]
            process.send_signal(sig)
            stdout, stderr = await asyncio.wait_for(process.communicate(), 20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 0, stderr.decode()
        assert b"stopped" in stdout
        assert b"Traceback" not in stderr

    @pytest.mark.parametrize(
        "host",
        [
            "127.0.0.1",
            pytest.param(
                "::1",
                marks=pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback"),
            ),
        ],
    )
    async def test_serve_in_process_until_stopped(self, host: str) -> None:
        out = io.StringIO()
        stop = asyncio.Event()
        args = _serve.build_parser().parse_args(["--host", host, "--port", "0", "--contacts", "5"])
        task = asyncio.create_task(_serve.serve(args, out, stop))
        for _ in range(500):
            if "listening" in out.getvalue():
                break
            await asyncio.sleep(0.002)
        url = out.getvalue().split()[4]
        async with HeymarketClient(api_key="test", base_url=url) as hm:
            assert await hm.count_contacts() == 5
        stop.set()
        await asyncio.wait_for(task, 10)
        assert "API key: test  (5 contacts)" in out.getvalue()
        assert out.getvalue().endswith("stopped\n")


class TestRenderCache:
    @pytest.mark.parametrize(("argv", "kept"), [([], 100_000), (["--render-cache", "7"], 7)])
    async def test_sets_how_many_rendered_contacts_are_kept(
        self, monkeypatch: pytest.MonkeyPatch, argv: list[str], kept: int
    ) -> None:
        made: list[FakeHeymarket] = []

        class Recording(FakeHeymarket):
            def __init__(self, **options: Any) -> None:
                super().__init__(**options)
                made.append(self)

        monkeypatch.setattr(_serve, "FakeHeymarket", Recording)
        stop = asyncio.Event()
        stop.set()  # serve, then stop at once
        args = _serve.build_parser().parse_args(["--port", "0", *argv])
        await asyncio.wait_for(_serve.serve(args, io.StringIO(), stop), 10)
        assert [fake.store.seeded_cache_limit for fake in made] == [kept]


class TestMainInProcess:
    @pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
    def test_python_dash_m_entry_point_stops_on_sigint(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # The module entry point, run in this process (so coverage sees it): a thread sends
        # SIGINT once the server says it listens, i.e. after the handler is installed.
        monkeypatch.setattr(sys, "argv", ["heymarket_async.testing", "--port", "0"])
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)

        def interrupt() -> None:
            for _ in range(2000):
                if "listening" in out.getvalue():
                    os.kill(os.getpid(), signal.SIGINT)
                    return
                time.sleep(0.005)

        thread = threading.Thread(target=interrupt)
        thread.start()
        with pytest.raises(SystemExit) as info:
            runpy.run_module("heymarket_async.testing", run_name="__main__")
        thread.join()
        assert info.value.code == 0
        assert out.getvalue().endswith("stopped\n")
