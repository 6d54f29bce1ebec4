"""The opt-in pytest plugin: its fixtures, their options, and enabling it with ``-p``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from heymarket_async import HeymarketClient
from heymarket_async.testing import FakeHeymarket

pytest_plugins = ["heymarket_async.testing.pytest_plugin"]


class TestDefaults:
    async def test_fixtures_give_a_started_fake_and_a_bound_client(
        self, heymarket_fake: FakeHeymarket, heymarket_client: HeymarketClient
    ) -> None:
        assert isinstance(heymarket_fake, FakeHeymarket)
        assert heymarket_client.base_url == heymarket_fake.url
        assert heymarket_fake.v1_order == "newest_first"
        heymarket_fake.seed(3)
        assert await heymarket_client.count_contacts() == 3


class TestOptions:
    @pytest.fixture
    def heymarket_fake_options(self) -> dict[str, Any]:
        return {"v1_order": "oldest_first", "timestamp_format": "seconds"}

    async def test_options_fixture_configures_the_fake(
        self, heymarket_fake: FakeHeymarket, heymarket_client: HeymarketClient
    ) -> None:
        assert heymarket_fake.v1_order == "oldest_first"
        heymarket_fake.seed(3)
        assert [c.id for c in await heymarket_client.list_contacts()] == [1, 2, 3]
        assert heymarket_fake.contacts[1]["updated"] == "2025-01-01T00:00:00Z"


def test_enabled_with_dash_p_in_another_project(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        "import pytest\n"
        "@pytest.mark.asyncio\n"
        "async def test_it(heymarket_fake, heymarket_client):\n"
        "    ref = await heymarket_client.create_contact('15105553344')\n"
        "    assert heymarket_fake.contacts[ref.id]['phone'] == '15105553344'\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "heymarket_async.testing.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:hypothesispytest",
            "-W",
            "error",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
