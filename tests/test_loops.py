"""One client across event loops (``_loops.py``, and the transport's session per loop).

The session a client makes in a loop is closed when that loop shuts down, so a client built at
import time serves one ``asyncio.run()`` or pytest test after another and leaves no warning and
no descriptor behind. Tested as users run it: pytest with warnings as errors, ``python -X dev``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from heymarket_async import HeymarketClient, RetryPolicy
from heymarket_async._loops import ShutdownHook
from heymarket_async._transport import AiohttpTransport
from tests._cli_helpers import threaded_fake
from tests._server import API_KEY, WireServer

ROOT = Path(__file__).resolve().parents[1]
HAS_PROC_FD = Path("/proc/self/fd").is_dir()


def run_python(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """This interpreter on ``args``, with this checkout first on the path."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("PYTHONWARNINGS", None)
    env.pop("PYTHONDEVMODE", None)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def is_closed(session: aiohttp.ClientSession) -> bool:
    return session.closed


def transport_of(hm: HeymarketClient) -> AiohttpTransport:
    transport = hm._pipeline.transport
    assert isinstance(transport, AiohttpTransport)
    return transport


async def wait_until(predicate: Any, *, limit: float = 2.0) -> None:
    """Yield to the loop until ``predicate()`` holds (a condition, not a timed sleep)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + limit
    while not predicate():
        assert loop.time() < give_up, "condition never held"
        await asyncio.sleep(0.001)


class TestShutdownHook:
    def test_awaits_its_callback_in_the_loop_as_asyncio_run_shuts_it_down(self) -> None:
        seen: list[tuple[bool, bool]] = []

        async def callback() -> None:
            loop = asyncio.get_running_loop()
            await asyncio.sleep(0)  # it may await: the loop still runs
            seen.append((loop.is_running(), loop.is_closed()))

        async def main() -> ShutdownHook:
            hook = await ShutdownHook.start(callback)
            await asyncio.sleep(0)
            assert not seen  # not before the loop ends
            return hook

        hook = asyncio.run(main())
        assert seen == [(True, False)]
        assert hook.fired
        hook.cancel()  # once fired, a no-op

    def test_cancelled_it_never_runs_its_callback(self) -> None:
        calls: list[int] = []

        async def callback() -> None:
            calls.append(1)

        async def main() -> ShutdownHook:
            hook = await ShutdownHook.start(callback)
            hook.cancel()
            hook.cancel()  # twice is fine
            return hook

        hook = asyncio.run(main())
        assert calls == []
        assert not hook.fired

    def test_dropped_while_its_loop_runs_it_runs_its_callback_in_that_loop(self) -> None:
        calls: list[int] = []

        async def callback() -> None:
            calls.append(1)

        async def main() -> None:
            hook: ShutdownHook | None = await ShutdownHook.start(callback)
            assert hook is not None
            del hook  # a client dropped unclosed: its session is still closed in the loop
            await wait_until(lambda: calls == [1])

        asyncio.run(main())

    def test_a_loop_closed_by_hand_runs_nothing_and_its_hook_ends_quietly(self) -> None:
        calls: list[int] = []

        async def callback() -> None:
            calls.append(1)

        loop = asyncio.new_event_loop()
        hook = loop.run_until_complete(ShutdownHook.start(callback))
        loop.close()  # no shutdown_asyncgens: nothing can run in it any more
        hook.cancel()  # synchronous, outside any loop
        del hook
        gc.collect()  # nothing is scheduled on the closed loop (warnings are errors)
        assert calls == []


class TestSessionOfEachLoop:
    def test_is_closed_as_asyncio_run_ends_and_the_client_serves_the_next_loop(self) -> None:
        with threaded_fake(2) as fake:
            hm = HeymarketClient("test", base_url=fake.url)
            assert asyncio.run(hm.count_contacts()) == 2
            first = transport_of(hm)._session
            assert first is not None
            assert first.closed  # its connection was closed in its loop, not left to the GC
            assert not hm.closed
            assert asyncio.run(hm.count_contacts()) == 2
            second = transport_of(hm)._session
            assert second is not first
            asyncio.run(hm.close())
            assert hm.closed

    def test_a_loop_closed_by_hand_after_shutdown_asyncgens_leaves_nothing_open(self) -> None:
        with threaded_fake(3) as fake:
            hm = HeymarketClient("test", base_url=fake.url)
            sessions = []
            for _ in range(2):
                loop = asyncio.new_event_loop()
                assert loop.run_until_complete(hm.count_contacts()) == 3
                loop.run_until_complete(loop.shutdown_asyncgens())  # as asyncio.run does
                sessions.append(transport_of(hm)._session)
                loop.close()
            gc.collect()  # a socket left open would warn here (warnings are errors)
            assert all(session is not None and session.closed for session in sessions)
            asyncio.run(hm.close())

    def test_close_in_the_loop_cancels_the_shutdown_and_closes_the_session(self) -> None:
        with threaded_fake(1) as fake:
            hm = HeymarketClient("test", base_url=fake.url)

            async def main() -> ShutdownHook | None:
                await hm.count_contacts()
                hook = transport_of(hm)._shutdown
                await hm.close()
                return hook

            hook = asyncio.run(main())
            assert hook is not None
            assert not hook.fired  # close() came first: the shutdown had nothing left to do

    def test_the_shutdown_closes_the_session_only_after_a_call_in_flight(self) -> None:
        """Another async generator's cleanup may be calling at the same time."""

        async def main() -> None:
            server = WireServer()
            await server.start()
            hm = HeymarketClient(API_KEY, base_url=server.url, retry=RetryPolicy.disabled())
            try:
                await hm.delete_contact(1)
                session = transport_of(hm)._session
                hook = transport_of(hm)._shutdown
                assert session is not None
                assert hook is not None
                server.gate = asyncio.Event()
                call = asyncio.create_task(hm.delete_contact(2))
                await wait_until(lambda: server.in_flight == 1)
                shutdown = asyncio.create_task(asyncio.get_running_loop().shutdown_asyncgens())
                await wait_until(lambda: hook.fired)
                for _ in range(5):
                    await asyncio.sleep(0)
                assert not is_closed(session)  # the call still uses it
                server.gate.set()
                await call  # answered, not cut off
                await shutdown
                assert is_closed(session)
                # A call after the shutdown (from another generator's cleanup): a session of
                # its own, closed at once; no new hook (it would warn, after the shutdown).
                server.gate = None
                await hm.delete_contact(3)
                assert transport_of(hm)._session is session
                assert transport_of(hm)._shutdown is hook
            finally:
                await hm.close()
                await server.stop()
            assert [r.path for r in server.requests] == [f"/v1/contact/{n}" for n in (1, 2, 3)]

        asyncio.run(main())

    def test_a_call_from_an_async_generators_cleanup_at_the_loops_end_is_answered(
        self,
    ) -> None:
        with threaded_fake(4) as fake:
            hm = HeymarketClient("test", base_url=fake.url)
            counted: list[int] = []

            async def walk() -> AsyncGenerator[int, None]:
                try:
                    yield 1
                finally:  # run by the loop's shutdown, with the client's own hook
                    counted.append(await hm.count_contacts())

            async def main() -> AsyncGenerator[int, None]:
                await hm.count_contacts()
                abandoned = walk()
                await abandoned.asend(None)
                return abandoned  # kept alive: closed by asyncio.run's shutdown

            for _ in range(3):  # both orders of the two generators' cleanups, likely
                kept = asyncio.run(main())
                del kept
            assert counted == [4, 4, 4]
            asyncio.run(hm.close())


# -- as users run it ------------------------------------------------------------------------

_TEST_MODULE = """
import asyncio
import threading

import pytest

from heymarket_async import HeymarketClient
from heymarket_async.testing import FakeHeymarket

_loop = asyncio.new_event_loop()
_fake = FakeHeymarket()
_fake.seed(3)
_thread = threading.Thread(target=_loop.run_forever, daemon=True)
_thread.start()
asyncio.run_coroutine_threadsafe(_fake.start(), _loop).result(10)

client = HeymarketClient("test", base_url=_fake.url)  # the README's module-level client


def teardown_module():
    asyncio.run_coroutine_threadsafe(_fake.close(), _loop).result(10)
    _loop.call_soon_threadsafe(_loop.stop)
    _thread.join(10)
    _loop.close()


@pytest.mark.asyncio
async def test_one():
    assert await client.count_contacts() == 3


@pytest.mark.asyncio
async def test_two():
    assert [c.id for c in await client.list_contacts()] != []


@pytest.mark.asyncio
async def test_three():
    assert await client.count_contacts() == 3
"""

_SCRIPT = """
import asyncio
import json
import os
import sys

from heymarket_async import HeymarketClient
from tests._cli_helpers import threaded_fake


def descriptors():
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else -1


runs = int(sys.argv[1])
with threaded_fake(3) as fake:
    hm = HeymarketClient("test", base_url=fake.url)  # built outside any loop
    before = descriptors()
    counts = {asyncio.run(hm.count_contacts()) for _ in range(runs)}
    after_runs = descriptors()
    asyncio.run(hm.close())
    after_close = descriptors()
print(json.dumps({"counts": sorted(counts), "before": before, "after_runs": after_runs,
                  "after_close": after_close}))
"""


class TestAsUsersRunIt:
    def test_pytest_with_warnings_as_errors_passes_three_tests_sharing_a_module_client(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "test_shared_client.py").write_text(_TEST_MODULE)
        done = run_python(
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:hypothesispytest",  # only its import time: it plays no part here
            "-W",
            "error",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            "test_shared_client.py",
            cwd=tmp_path,
        )
        out = done.stdout + done.stderr
        assert done.returncode == 0, out
        assert "3 passed" in out
        assert "warning" not in out.lower()
        assert "unclosed" not in out.lower()

    def test_python_dev_mode_runs_two_loops_on_one_client_and_prints_nothing(
        self, tmp_path: Path
    ) -> None:
        script = tmp_path / "two_runs.py"
        script.write_text(textwrap.dedent(_SCRIPT))
        done = run_python("-X", "dev", "-W", "error", str(script), "2")
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        assert json.loads(done.stdout)["counts"] == [3]

    @pytest.mark.skipif(not HAS_PROC_FD, reason="counts descriptors in /proc/self/fd")
    def test_300_loops_on_one_client_hold_no_more_descriptors_and_close_leaves_none(
        self, tmp_path: Path
    ) -> None:
        script = tmp_path / "many_runs.py"
        script.write_text(textwrap.dedent(_SCRIPT))
        done = run_python("-W", "error", str(script), "300")
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
        assert seen["counts"] == [3]
        # Each loop's connection is closed as that loop ends (by the client; the server's end
        # of the last one, in its own thread, may close a moment later).
        assert seen["after_runs"] <= seen["before"] + 2, seen
        assert seen["after_close"] <= seen["before"] + 2, seen
        assert done.stderr == ""  # and no socket was left to the GC (a ResourceWarning)
