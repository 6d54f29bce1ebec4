"""A RedisRateLimiter made from a URL serves one event loop after another as the client does:
its connections are closed as each loop shuts down, so a module-level limiter leaves no
descriptor and no ResourceWarning behind (``python -X dev -W error``)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests._redis import RedisServer
from tests.test_loops import HAS_PROC_FD, run_python

_SCRIPT = """
import asyncio
import json
import os
import sys

from heymarket_async import HeymarketClient, RedisRateLimiter
from tests._cli_helpers import threaded_fake


def descriptors():
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else -1


runs, url = int(sys.argv[1]), sys.argv[2]
with threaded_fake(3) as fake:
    # Built outside any loop, as a module-level limiter and client are.
    limiter = RedisRateLimiter(url, key="test", per_minute=60_000)
    hm = HeymarketClient("test", base_url=fake.url, rate_limit=limiter)
    before = descriptors()
    counts = {asyncio.run(hm.count_contacts()) for _ in range(runs)}
    after_runs = descriptors()

    async def close():
        await hm.close()
        await limiter.aclose()

    asyncio.run(close())
    after_close = descriptors()
print(json.dumps({"counts": sorted(counts), "before": before, "after_runs": after_runs,
                  "after_close": after_close}))
"""


@pytest.fixture
def redis_url(tmp_path: Path):
    server = RedisServer(tmp_path).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_python_dev_mode_runs_two_loops_on_one_limiter_and_prints_nothing(
    tmp_path: Path, redis_url: str
) -> None:
    script = tmp_path / "two_runs.py"
    script.write_text(textwrap.dedent(_SCRIPT))
    done = run_python("-X", "dev", "-W", "error", str(script), "2", redis_url)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(done.stdout)["counts"] == [3]


@pytest.mark.skipif(not HAS_PROC_FD, reason="counts descriptors in /proc/self/fd")
def test_100_loops_on_one_limiter_hold_no_more_descriptors(tmp_path: Path, redis_url: str) -> None:
    script = tmp_path / "many_runs.py"
    script.write_text(textwrap.dedent(_SCRIPT))
    done = run_python("-W", "error", str(script), "100", redis_url)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["counts"] == [3]
    assert seen["after_runs"] <= seen["before"] + 3, seen
    assert seen["after_close"] <= seen["before"] + 3, seen
    assert done.stderr == ""
