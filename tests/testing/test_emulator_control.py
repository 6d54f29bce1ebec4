"""The emulator's own routes (``/_emulator/...``) and the command line's limit flags: what a
benchmark or a test in another process uses to set limits, script faults and read the log."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from datetime import datetime, timezone
from typing import Any

import aiohttp
import pytest
from _fake_http import Raw

from heymarket_async import HeymarketClient, RateLimitError, RetryPolicy
from heymarket_async.testing import (
    FakeClock,
    FakeHeymarket,
    Fault,
    FaultKind,
    Latency,
    RateLimitRule,
    RateLog,
    _serve,
)

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def fake_options() -> dict[str, Any]:
    return {"clock": FakeClock(T0, frozen=True)}


class TestRateLogRoute:
    async def test_serves_the_log_and_the_rule(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.rate_limit = RateLimitRule(1, 60.0)
        await raw("POST", "/v1/contacts/count", {})
        await raw("POST", "/v1/contacts/count", {})
        answer = await raw("GET", "/_emulator/rate-log", key=None)
        assert answer.status == 200
        key = RateLog.key_for("test")
        start = T0.timestamp()
        assert answer.json == {
            "entries": [[start, key, True], [start, key, False]],
            "next": 2,
            "rule": {
                "requests": 1,
                "window": 60.0,
                "sliding": False,
                "retry_after": True,
                "count_refused": False,
            },
        }
        later = await raw("GET", "/_emulator/rate-log?since=1", key=None)
        assert later.json["entries"] == [[start, key, False]]

    async def test_fetch_reads_it_and_delete_clears_it(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.rate_limit = RateLimitRule(2, 60.0)
        await raw("POST", "/v1/contacts/count", {})
        log = await RateLog.fetch(fake.url + "/")
        assert list(log) == list(fake.rate_log)
        assert (await raw("DELETE", "/_emulator/rate-log", key=None)).json == "ok"
        assert len(fake.rate_log) == 0

    async def test_a_bad_since_is_bad_data(self, raw: Raw) -> None:
        answer = await raw("GET", "/_emulator/rate-log?since=-1", key=None)
        assert (answer.status, answer.json["error"]) == (400, "bad_data")


class TestSettingLimits:
    async def test_put_a_rate_limit_then_none(self, raw: Raw, fake: FakeHeymarket) -> None:
        put = await raw("PUT", "/_emulator/rate-limit", {"requests": 1, "sliding": True}, key=None)
        assert put.json["window"] == 60.0, "keys left out take their defaults"
        assert fake.rate_limit == RateLimitRule(1, 60.0, sliding=True)
        statuses = [(await raw("POST", "/v1/contacts/count", {})).status for _ in range(2)]
        assert statuses == [200, 429]
        off = await raw("PUT", "/_emulator/rate-limit", data=b"null", key=None)
        assert off.json is None
        assert fake.rate_limit is None
        assert (await raw("GET", "/_emulator/rate-limit", key=None)).json is None

    @pytest.mark.parametrize(
        "body",
        [{"requests": 0}, {"requests": 5, "window": -1}, {"requests": 5, "every": 1}, [5]],
    )
    async def test_a_bad_rule_is_bad_data(self, raw: Raw, fake: FakeHeymarket, body: Any) -> None:
        answer = await raw("PUT", "/_emulator/rate-limit", body, key=None)
        assert (answer.status, answer.json["error"]) == (400, "bad_data")
        assert fake.rate_limit is None

    async def test_put_a_latency(self, raw: Raw, fake: FakeHeymarket) -> None:
        body = {"seconds": 0.05, "jitter": 0.01, "seed": 4}
        answer = await raw("PUT", "/_emulator/latency", body, key=None)
        assert answer.json == body
        assert fake.latency == Latency(0.05, jitter=0.01, seed=4)
        bad = await raw("PUT", "/_emulator/latency", {"seconds": "slow"}, key=None)
        assert bad.status == 400
        assert (await raw("GET", "/_emulator/latency", key=None)).json == body


class TestFaultRoutes:
    async def test_a_scripted_429_reaches_the_next_request(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        body = {"route": "*", "fault": Fault.rate_limited(retry_after=3).to_json(), "times": 1}
        added = await raw("POST", "/_emulator/faults", body, key=None)
        assert added.json["fired"] == 0
        async with fake.client(retry=RetryPolicy.disabled()) as hm:
            with pytest.raises(RateLimitError) as info:
                await hm.count_contacts()
            assert info.value.retry_after == 3.0
            await hm.count_contacts()
        listed = await raw("GET", "/_emulator/faults", key=None)
        assert listed.json == [
            {
                "route": "*",
                "fault": {
                    "kind": "status",
                    "code": 429,
                    "body": "json",
                    "retry_after": "3",
                    "seconds": 0.0,
                },
                "on": None,
                "times": 1,
                "every": None,
                "probability": None,
                "fired": 1,
            }
        ]
        assert (await raw("DELETE", "/_emulator/faults", key=None)).json == "ok"
        assert fake.faults.rules == []

    async def test_on_and_a_short_fault(self, raw: Raw, fake: FakeHeymarket) -> None:
        fault = {"kind": "status", "code": 503}
        body = {"route": "POST /v1/contacts/count", "fault": fault, "on": [2]}
        assert (await raw("POST", "/_emulator/faults", body, key=None)).json["on"] == [2]
        got = [(await raw("POST", "/v1/contacts/count", {})).status for _ in range(3)]
        assert got == [200, 503, 200]

    @pytest.mark.parametrize(
        "body",
        [
            {"route": "*", "fault": {"kind": "explode"}},
            {"route": "*", "fault": {"kind": "status", "code": 200}},
            {"route": "*", "fault": {"kind": "status", "code": "500"}},
            {"route": "*", "fault": {"kind": "latency", "seconds": -1}},
            {"route": "GET /nowhere{x}", "fault": {"kind": "drop"}},
            {"route": "*", "fault": {"kind": "drop"}, "times": 0},
            {"route": "*", "fault": {"kind": "drop"}, "sometimes": 1},
            {"route": "*", "fault": {"kind": "drop"}, "on": 3},
            {"route": "*", "fault": {"kind": "drop"}, "on": ["3"]},
            {"route": "*", "fault": {"kind": "drop"}, "every": 1.5},
            {"route": "*", "fault": {"kind": "drop"}, "probability": "half"},
            {"route": "*"},
        ],
    )
    async def test_a_bad_rule_is_bad_data(self, raw: Raw, fake: FakeHeymarket, body: Any) -> None:
        answer = await raw("POST", "/_emulator/faults", body, key=None)
        assert (answer.status, answer.json["error"]) == (400, "bad_data")
        assert fake.faults.rules == []

    @pytest.mark.parametrize(
        "fault",
        [
            Fault.latency(0.5),
            Fault.status(503, body="html", retry_after="Wed, 21 Oct 2015 07:28:00 GMT"),
            Fault.rate_limited(retry_after=2.5),
            Fault.drop(),
            Fault.hang(),
            Fault.fail_after_write(502, body="empty"),
            Fault.drop_after_write(),
            Fault.truncated(),
            Fault.not_json(200),
        ],
        ids=lambda f: f.kind.value,
    )
    def test_every_fault_survives_json(self, fault: Fault) -> None:
        assert Fault.from_json(fault.to_json()) == fault

    def test_every_kind_is_covered(self) -> None:
        assert {k.value for k in FaultKind} == {
            "latency",
            "status",
            "drop",
            "hang",
            "fail_after_write",
            "drop_after_write",
            "truncate",
            "not_json",
        }


class TestControlRoutesStandApart:
    @pytest.fixture
    def slept(self) -> list[float]:
        return []

    @pytest.fixture
    def fake_options(self, slept: list[float]) -> dict[str, Any]:
        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        return {"clock": FakeClock(T0, frozen=True), "sleep": sleep, "latency": 1.0}

    async def test_not_recorded_limited_delayed_faulted_or_authorized(
        self, raw: Raw, fake: FakeHeymarket, slept: list[float]
    ) -> None:
        fake.rate_limit = RateLimitRule(1, 60.0)
        await raw("POST", "/v1/contacts/count", {})
        fake.faults.add("*", Fault.status(500))
        for _ in range(3):
            answer = await raw("GET", "/_emulator/rate-log", key=None)
            assert answer.status == 200
        assert len(fake.requests) == 1
        assert len(fake.rate_log) == 1
        assert slept == [1.0], "the API request's latency only"
        assert "X-Request-Id" in answer.headers


async def _start(*argv: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "heymarket_async.testing",
        "--port",
        "0",
        *argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
    assert line.startswith("Heymarket emulator listening on http://127.0.0.1:"), line
    return process, line.rsplit(" ", 1)[1].strip()


class TestAnEmulatorOfItsOwn:
    async def test_limit_log_and_faults_across_processes(self) -> None:
        process, url = await _start("--rate-limit", "2/60", "--api-key", "k1")
        try:
            assert process.stdout is not None
            banner = [(await process.stdout.readline()).decode() for _ in range(4)][2:]
            assert banner == [
                "Rate limit: 2 requests per 60 s (fixed window, 429 with Retry-After), "
                "per API key\n",
                f"  arrivals: GET {url}/_emulator/rate-log\n",
            ]
            no_retry = RetryPolicy.disabled()
            async with (
                HeymarketClient(api_key="k1", base_url=url, retry=no_retry) as hm,
                aiohttp.ClientSession(base_url=url) as control,
            ):
                await hm.count_contacts()
                await hm.count_contacts()
                with pytest.raises(RateLimitError) as info:
                    await hm.count_contacts()
                assert info.value.retry_after is not None
                assert 1 <= info.value.retry_after <= 60
                log = await RateLog.fetch(url)
                assert [e.admitted for e in log] == [True, True, False]
                assert log.keys() == [RateLog.key_for("k1")]
                # What another process does to make this one's client see a 429.
                async with control.put("/_emulator/rate-limit", data=b"null") as resp:
                    assert resp.status == 200
                fault = Fault.rate_limited(retry_after=5).to_json()
                body = {"route": "*", "fault": fault, "times": 1}
                async with control.post("/_emulator/faults", json=body) as resp:
                    assert resp.status == 200
                with pytest.raises(RateLimitError) as info:
                    await hm.count_contacts()
                assert info.value.retry_after == 5.0
                await hm.count_contacts()
        finally:
            if process.returncode is None:
                process.terminate()
            _, stderr = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, stderr.decode()


class TestFlags:
    def parse(self, *argv: str) -> tuple[Latency, RateLimitRule | None]:
        args = _serve.build_parser().parse_args(list(argv))
        return _serve.latency_of(args), _serve.rate_limit_of(args)

    def test_defaults_none(self) -> None:
        assert self.parse() == (Latency(), None)

    def test_every_flag(self) -> None:
        latency, rule = self.parse(
            "--rate-limit",
            "500/60",
            "--window",
            "sliding",
            "--no-retry-after",
            "--count-refused",
            "--latency",
            "0.05",
            "--jitter",
            "0.06",
            "--seed",
            "3",
        )
        assert rule == RateLimitRule(500, 60.0, sliding=True, retry_after=False, count_refused=True)
        assert latency == Latency(0.05, jitter=0.06, seed=3)

    def test_a_fixed_window_with_retry_after_by_default(self) -> None:
        assert self.parse("--rate-limit", "20/1.5")[1] == RateLimitRule(20, 1.5)

    def test_latency_in_milliseconds_as_before(self) -> None:
        assert self.parse("--latency-ms", "20")[0] == Latency(0.02)

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--rate-limit", "500"], "--rate-limit: '500' is not REQUESTS/SECONDS"),
            (["--rate-limit", "0/60"], "--rate-limit: '0/60' is not REQUESTS/SECONDS"),
            (["--rate-limit", "5/0"], "'5/0' is not REQUESTS/SECONDS"),
            (["--rate-limit", "5/x"], "'5/x' is not REQUESTS/SECONDS"),
            (["--rate-limit", "5/inf"], "'5/inf' is not REQUESTS/SECONDS"),
            (["--latency", "-1"], "--latency: '-1' is not a duration (seconds >= 0)"),
            (["--jitter", "inf"], "--jitter: 'inf' is not a duration (seconds >= 0)"),
            (["--latency", "1", "--latency-ms", "5"], "not allowed with argument"),
            (["--window", "tumbling"], "invalid choice: 'tumbling'"),
        ],
    )
    def test_bad_values_are_usage_errors(
        self, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as info:
            _serve.build_parser().parse_args(argv)
        assert info.value.code == 2
        assert message in capsys.readouterr().err

    async def test_the_banner_says_the_latency_and_the_limit(self) -> None:
        out = io.StringIO()
        stop = asyncio.Event()
        stop.set()  # serve, then stop at once
        argv = ["--port", "0", "--latency", "0.05", "--jitter", "0.01", "--rate-limit", "20/1"]
        await asyncio.wait_for(_serve.serve(_serve.build_parser().parse_args(argv), out, stop), 10)
        text = out.getvalue()
        assert "Latency: 50 ms + up to 10 ms per request\n" in text
        assert "Rate limit: 20 requests per 1 s (fixed window, 429 with Retry-After)" in text
