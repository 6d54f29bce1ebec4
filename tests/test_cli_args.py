"""The command line, in process: parsing, usage errors (exit 2), and what is never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from heymarket_async._cli._args import build_parser
from heymarket_async._cli._commands import _rate_limit
from heymarket_async._cli._console import EXIT_USAGE

from ._cli_helpers import run


class TestParsing:
    def test_export_defaults(self) -> None:
        args = build_parser().parse_args(["export"])
        assert (args.output, args.api, args.resume, args.quiet) == (
            "contacts.jsonl",
            "v2",
            False,
            False,
        )

    def test_export_writes_as_sent_and_guards_formulas_by_default(self) -> None:
        args = build_parser().parse_args(["export"])
        assert (args.normalized, args.formula_guard) == (False, True)
        args = build_parser().parse_args(["export", "--normalized", "--no-formula-guard"])
        assert (args.normalized, args.formula_guard) == (True, False)

    def test_connection_options_follow_the_subcommand(self) -> None:
        args = build_parser().parse_args(["count", "--sandbox", "10", "--since", "2024-05-01"])
        assert args.sandbox == 10
        assert args.since.isoformat() == "2024-05-01T00:00:00+00:00"

    @pytest.mark.parametrize("naive", ["2025-01-01T00:00:00", "2025-01-01 12:30:00"])
    def test_since_without_an_offset_is_refused_as_the_library_refuses_it(
        self, naive: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run(["export", "--sandbox", "5", "--since", naive], capsys)
        assert code == EXIT_USAGE
        assert "has no UTC offset" in err

    def test_since_as_a_date_is_midnight_utc(self) -> None:
        args = build_parser().parse_args(["export", "--since", "2024-05-01"])
        assert args.since.isoformat() == "2024-05-01T00:00:00+00:00"

    def test_since_keeps_an_offset(self) -> None:
        args = build_parser().parse_args(["export", "--since", "2024-05-01T12:00:00+02:00"])
        assert args.since.utcoffset().total_seconds() == 7200


class TestConcurrency:
    def test_is_automatic_by_default_and_takes_1_to_16(self) -> None:
        assert build_parser().parse_args(["export"]).concurrency is None
        assert build_parser().parse_args(["export", "--concurrency", "7"]).concurrency == 7

    @pytest.mark.parametrize("bad", ["0", "17", "two", "-1"])
    def test_refuses_what_is_not_1_to_16(
        self, bad: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run(["export", "--sandbox", "5", "--concurrency", bad], capsys)
        assert code == EXIT_USAGE
        assert "--concurrency" in err

    def test_is_for_the_v2_walk(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(
            ["export", "--sandbox", "5", "--api", "v1", "--concurrency", "2"], capsys
        )
        assert code == EXIT_USAGE
        assert "--concurrency is for --api v2" in err


class TestRateLimit:
    @pytest.mark.parametrize(
        ("asked", "base_url", "env", "expected"),
        [
            (None, None, {}, 500.0),
            (None, "https://api.heymarket.com", {}, 500.0),
            (None, "http://127.0.0.1:8787", {}, None),
            (None, None, {"HEYMARKET_BASE_URL": "http://127.0.0.1:8787"}, None),
            (0.0, None, {}, None),
            (120.0, "http://127.0.0.1:8787", {}, 120.0),
            (None, "https://heymarket.com.evil.example", {}, None),
            (None, "https://api.heymarket.com.", {}, 500.0),
            (None, None, {"HEYMARKET_BASE_URL": "https://api.heymarket.com."}, 500.0),
        ],
    )
    def test_default_is_heymarkets_limit_for_heymarket_only(
        self, asked: float | None, base_url: str | None, env: dict[str, str], expected: float | None
    ) -> None:
        assert _rate_limit(asked, base_url, env) == expected

    @pytest.mark.parametrize("value", ["-1", "fast", "inf", "nan"])
    def test_bad_rates_are_usage_errors(self, value: str) -> None:
        with pytest.raises(SystemExit):
            build_parser().parse_args(["count", "--rate-limit", value])


class TestUsageErrors:
    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            ([], "required: COMMAND"),
            (["frobnicate"], "invalid choice"),
            (["export", "--format", "xml"], "invalid choice: 'xml'"),
            (["export", "--since", "yesterday"], "'yesterday' is not a time"),
            (["export", "--sandbox", "-5"], "not a count"),
            (["export", "--bogus"], "unrecognized arguments: --bogus"),
            (["get"], "required: ID|UUID|PHONE"),
            (["count", "--timeout", "inf"], "'inf' is not a duration"),
            (["count", "--timeout", "nan"], "'nan' is not a duration"),
            (["count", "--timeout", "0"], "'0' is not a duration"),
            (["count", "--timeout", "-1"], "'-1' is not a duration"),
            (["count", "--timeout", "soon"], "'soon' is not a duration"),
            (["export", "--res"], "unrecognized arguments: --res"),
        ],
    )
    def test_argparse_errors_exit_2(
        self, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(argv, capsys)
        assert code == EXIT_USAGE
        assert message in err
        assert "Traceback" not in err
        assert out == ""

    def test_sandbox_and_base_url_exclude_each_other(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run(["count", "--sandbox", "5", "--base-url", "http://x"], capsys)
        assert code == EXIT_USAGE
        assert err == "heymarket-async: error: --sandbox and --base-url exclude each other\n"

    def test_resume_needs_a_file(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(["export", "-o", "-", "--resume"], capsys)
        assert code == EXIT_USAGE
        assert "--resume needs a file" in err

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["-o", "c.csv", "--normalized"], "--normalized is for JSONL"),
            (["--format", "csv", "--normalized"], "--normalized is for JSONL"),
            (["-o", "c.jsonl", "--no-formula-guard"], "--no-formula-guard is for CSV"),
        ],
    )
    def test_encoding_flags_belong_to_their_format(
        self, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run(["export", "--sandbox", "5", *argv], capsys)
        assert code == EXIT_USAGE
        assert message in err

    def test_output_may_not_be_a_directory(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run(["export", "-o", str(tmp_path)], capsys)
        assert code == EXIT_USAGE
        assert "is a directory" in err

    def test_no_credentials_says_how_to_give_them(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(["count"], capsys)
        assert code == EXIT_USAGE
        assert err.startswith("heymarket-async: error: no credentials: set HEYMARKET_API_KEY")
        assert err.count("\n") == 1

    def test_half_a_secret_pair_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(["count", "--secret-id", "sid-123"], capsys)
        assert code == EXIT_USAGE
        assert "secret_key" in err

    def test_bad_base_url(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(["count", "--api-key", "k", "--base-url", "ftp://x"], capsys)
        assert code == EXIT_USAGE
        assert "base_url" in err

    def test_bad_phone_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(["get", "--api-key", "k", "+1 555"], capsys)
        assert code == EXIT_USAGE
        assert err.startswith("heymarket-async: error: phone:")


@pytest.mark.parametrize(
    "argv",
    [
        ["--api-key", "sk-SECRET-1", "count"],
        ["--api-key=sk-SECRET-1", "count"],
        ["count", "--secret-id", "sid", "--secret-key", "sk-SECRET-1", "--bogus"],
        ["--secret-key", "sk-SECRET-1"],
        # Cut short: refused (no abbreviations), and the value still hidden. (--sandbox: were
        # the flag taken, the command would run against no real network.)
        ["--api-ke", "sk-SECRET-1", "count"],
        ["count", "--sandbox", "1", "--api-ke", "sk-SECRET-1"],
        ["count", "--sandbox", "1", "--secret-k=sk-SECRET-1"],
        ["count", "--sandbox", "1", "--secret", "sk-SECRET-1"],
    ],
)
def test_usage_errors_never_show_a_credential(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv, capsys)
    assert code == EXIT_USAGE
    assert "sk-SECRET-1" not in out + err
    assert "error:" in err


@pytest.mark.parametrize("flag", ["--api-ke", "--secret-k", "--base", "--max-r"])
def test_abbreviated_flags_are_refused(flag: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["count", flag, "x"])


def test_timeout_takes_seconds() -> None:
    assert build_parser().parse_args(["count", "--timeout", "2.5"]).timeout == 2.5


def test_help_lists_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for word in ("export", "count", "fields", "get", "fake-server", "130 interrupted"):
        assert word in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0
    assert out.startswith("heymarket-async ")


def test_an_id_too_long_for_any_contact_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Past int()'s 4,300 digits it raised a bare ValueError out of main().
    for digits in (20, 5000):
        code, _, err = run(["get", "--sandbox", "1", "1" * digits], capsys)
        assert code == EXIT_USAGE
        assert err == f"heymarket-async: error: contact_id: an id of {digits} digits is too large\n"


def test_fake_server_help_names_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run(["fake-server", "--help"], capsys)
    out = capsys.readouterr().out
    assert out.startswith("usage: heymarket-async fake-server")
