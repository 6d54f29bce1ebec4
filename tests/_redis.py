"""A real ``redis-server`` for tests: on a free loopback port, in a temporary directory, with
nothing saved to disk; stopped (or killed, and started again on the same port) by the test.

Without ``redis-server`` (Debian's package; ``.ci/run`` installs it) or redis-py (the ``dev``
extra), a test that needs them is skipped with the reason, or fails when ``CI`` is set: CI
must not pass by skipping them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest


def missing(what: str, *, module: bool = False) -> None:
    """Skip for want of ``what``; fail under CI, which must run the Redis tests."""
    if os.environ.get("CI"):
        pytest.fail(f"{what}: CI must run the Redis tests (.ci/run installs it)", pytrace=False)
    pytest.skip(what, allow_module_level=module)


def require_redis() -> str:
    """The path of ``redis-server``; else skip (fail under CI)."""
    path = shutil.which("redis-server")
    if path is None:
        missing("redis-server is not installed (apt-get install redis-server)")
    assert path is not None
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One ``redis-server`` process of the test's; :meth:`kill` and :meth:`start` again keep
    the port, as a restarted Redis would."""

    def __init__(self, directory: Path, *, password: str | None = None) -> None:
        self.executable = require_redis()
        self.directory = directory
        self.port = free_port()
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        command = [
            self.executable,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
        ]
        if self.password:
            command += ["--requirepass", self.password]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.005)
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                reply = sock.recv(64)
        except OSError:
            return False
        # A server with a password answers NOAUTH: it is up all the same.
        return reply.startswith((b"+PONG", b"-NOAUTH"))

    def kill(self) -> None:
        """Stop it dead (SIGKILL), as a crashed or unplugged Redis."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        self.process = None

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        self.process = None
