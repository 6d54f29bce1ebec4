"""The command line: the argparse parser, its value types, and the checks argparse cannot make.

Connection options are accepted after any subcommand; error messages never echo a credential.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any, Final, NoReturn, TypeVar

from heymarket_async import __version__
from heymarket_async._sansio import parse_timestamp

from ._console import PROG

_ENV_HELP: Final = (
    "Credentials come from --api-key, or --secret-id and --secret-key, or the environment: "
    "HEYMARKET_API_KEY, or HEYMARKET_SECRET_ID and HEYMARKET_SECRET_KEY (HEYMARKET_BASE_URL "
    "for the base URL). Prefer the environment: flags show in the process list. --sandbox N "
    "needs none: it runs against a built-in emulator holding N made-up contacts."
)
_EPILOG: Final = (
    "exit codes: 0 done, 1 API/network/file failure, 2 usage error, "
    "130 interrupted by Ctrl-C (143 by SIGTERM; an export can then be continued with --resume), "
    "141 stdout closed"
)
_SECRET_FLAGS: Final = ("--api-key", "--secret-id", "--secret-key")

_N = TypeVar("_N", int, float)


class UsageError(Exception):
    """A command-line value that argparse could not check by itself."""


def _time(value: str) -> datetime:
    """An RFC 3339 time or a date (midnight UTC). A time of day without an offset is refused,
    as the library refuses a naive datetime: whose midnight it is cannot be guessed."""
    try:
        parsed = parse_timestamp(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a time: give RFC 3339 (2024-05-01T12:00:00Z) or a date (2024-05-01)"
        ) from None
    if _DATE.fullmatch(value.strip()):
        return parsed.replace(tzinfo=timezone.utc)  # a date alone: midnight UTC
    if not _OFFSET.search(value.strip()):
        # The library refuses a time without an offset: so does the command.
        raise argparse.ArgumentTypeError(
            f"{value!r} has no UTC offset: add Z for UTC or your offset (2024-05-01T12:00:00+02:00)"
        )
    return parsed


#: A date alone: midnight UTC.
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
#: How an RFC 3339 time ends: its offset.
_OFFSET: Final = re.compile(r"(?:[Zz]|[+-]\d{2}:\d{2})$")


def _count(value: str) -> int:
    return _number(value, int, lambda n: n >= 0, "a count (an int >= 0)")


def _seconds(value: str) -> float:
    # Not ``seconds <= 0``: NaN compares false to everything.
    return _number(value, float, lambda s: 0 < s < float("inf"), "a duration (seconds > 0)")


def _rate(value: str) -> float:
    return _number(
        value, float, lambda r: 0 <= r < float("inf"), "a rate (requests per minute >= 0)"
    )


def _number(value: str, parse: Callable[[str], _N], ok: Callable[[_N], bool], what: str) -> _N:
    """``value`` parsed, if it parses and is ``ok``; else argparse's error, saying ``what``."""
    try:
        number = parse(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not {what}") from None
    if not ok(number):
        raise argparse.ArgumentTypeError(f"{value!r} is not {what}")
    return number


class _Parser(argparse.ArgumentParser):
    """An argument parser whose error messages never show the strings in ``hide``."""

    hide: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No abbreviations: ``--api-ke KEY`` must not be read as ``--api-key KEY``, and a flag
        # spelt in full is the only one whose value ``secrets_in`` needs to find.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        # argparse quotes what it did not understand, which may be a key typed before the
        # subcommand (``heymarket-async --api-key KEY count``).
        for secret in self.hide:
            message = message.replace(secret, "***")
        super().error(message)


def secrets_in(argv: Sequence[str]) -> list[str]:
    """The values given to the credential flags, as ``--flag VALUE`` or ``--flag=VALUE``.

    A flag cut short (``--api-ke``) counts too: it is refused, and the message that says so
    quotes the value after it.
    """
    found = []
    for i, arg in enumerate(argv):
        flag, eq, value = arg.partition("=")
        if len(flag) > 2 and any(s.startswith(flag) for s in _SECRET_FLAGS):
            if eq:
                found.append(value)
            elif i + 1 < len(argv):
                found.append(argv[i + 1])
    return [s for s in found if s]


def build_parser(*, hide: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The whole command line. Connection options are accepted after any subcommand.

    Error messages show ``***`` in place of any string in ``hide`` (the credentials given).
    """
    connection = _connection_options()
    # A subclass per parse, so the subcommands' parsers (made by argparse) hide the same.
    parser_class: type[_Parser] = type("_Parser", (_Parser,), {"hide": tuple(hide)})
    parser = parser_class(
        prog=PROG,
        description="Export and inspect Heymarket contacts.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        required=True,
        parser_class=parser_class,
    )

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=help, description=help, parents=[connection], epilog=_EPILOG
        )

    _export_options(command("export", "stream every contact to a JSONL or CSV file"))
    _since_option(command("count", "print how many contacts there are"))
    command("fields", "print the team's custom contact fields as JSON")
    get = command("get", "print one contact as JSON")
    get.add_argument("contact", metavar="ID|UUID|PHONE", help="42, a UUID, or +15105553344")
    get.add_argument("--phone", action="store_true", help="CONTACT is a phone number")
    commands.add_parser(
        "fake-server",
        help="run the emulator as a server (--port, --contacts, --latency-ms; see its --help)",
        add_help=False,
    )
    return parser


def _connection_options() -> _Parser:
    """The options every subcommand takes: credentials, base URL or sandbox, limits."""
    connection = _Parser(add_help=False)
    group = connection.add_argument_group("connection", _ENV_HELP)
    group.add_argument("--api-key", metavar="KEY", help="a legacy team API key")
    group.add_argument("--secret-id", metavar="ID", help="an API secret's id")
    group.add_argument("--secret-key", metavar="KEY", help="an API secret's key")
    group.add_argument("--base-url", metavar="URL", help="the API's base URL")
    group.add_argument(
        "--sandbox",
        metavar="N",
        type=_count,
        help="run against a built-in emulator seeded with N contacts (no account needed)",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_seconds,
        default=60.0,
        help="for each call, its retries included (default 60)",
    )
    group.add_argument(
        "--max-retries",
        metavar="N",
        type=_count,
        default=3,
        help="retries of a failed read (default 3; 0 to fail at once)",
    )
    group.add_argument(
        "--rate-limit",
        metavar="RPM",
        type=_rate,
        help="requests per minute, 0 for none (default: 500 against api.heymarket.com, "
        "none elsewhere)",
    )
    # Sharing the key's budget with the workers beside the command (RedisRateLimiter).
    group.add_argument(
        "--redis-url",
        metavar="URL",
        help="share the API key's rate budget through this Redis with every process using "
        "the key (default: $HEYMARKET_REDIS_URL; --rate-limit, else 500, is the key's "
        "total); needs heymarket-async[redis]",
    )
    return connection


def _export_options(export: argparse.ArgumentParser) -> None:
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default="contacts.jsonl",
        help="where to write (default contacts.jsonl; - for stdout)",
    )
    export.add_argument("--format", choices=("jsonl", "csv"), help="default: from FILE's suffix")
    _since_option(export)
    export.add_argument(
        "--api",
        choices=("v1", "v2"),
        default="v2",
        help="v2 pages of 100 (default) or v1 pages of 30",
    )
    export.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted export of FILE from its saved position",
    )
    dedupe = export.add_mutually_exclusive_group()
    dedupe.add_argument(
        "--dedupe",
        dest="dedupe",
        action="store_const",
        const=True,
        default=None,
        help="keep one line per contact, its newest version by updated (of two equal, the "
        "later line): a contact changed during the export is read again. Default for --api "
        "v2 to a file; needs a file",
    )
    dedupe.add_argument(
        "--no-dedupe",
        dest="dedupe",
        action="store_const",
        const=False,
        help="keep every version read",
    )
    export.add_argument(
        "--since-last",
        metavar="MARK",
        help="incremental export (--api v2): only the contacts created or changed since the "
        "export that wrote MARK, in their newest version (all of them when MARK does not exist "
        "yet); MARK is replaced once FILE is complete, and kept if the export fails. Deleted "
        "contacts are not reported: a list does not show them",
    )
    export.add_argument(
        "--concurrency",
        type=_concurrency,
        metavar="N",
        help="--api v2: read the contacts in N parts at once, 1-16 (default: as many as the "
        "rate limit x the latency need, or 4 when nothing paces the requests)",
    )
    export.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary")
    _encoding_options(export)


def _encoding_options(export: argparse.ArgumentParser) -> None:
    """How contacts become lines: JSONL as the API sent them or normalized, CSV guarded."""
    export.add_argument(
        "--normalized",
        action="store_true",
        help="JSONL: write the SDK's normalized contact (every field of Contact, tags as "
        "objects, times as RFC 3339 UTC) instead of each contact exactly as the API sent it "
        "(the default: every key, values untouched); keys the SDK does not know are dropped",
    )
    export.add_argument(
        "--no-formula-guard",
        dest="formula_guard",
        action="store_false",
        help="CSV: write cells starting with = + - @ tab or CR as they are (by default they get "
        "a ' in front, so that a spreadsheet does not run them; plain numbers such as -5 or "
        "+15105550001 never do)",
    )


def _concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 16:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 16, not {text!r}")
    return value


def _since_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--since",
        type=_time,
        metavar="TIME",
        help="only contacts updated after TIME (RFC 3339, or a date: midnight UTC)",
    )


def check_args(args: argparse.Namespace) -> None:
    """What argparse cannot check: exclusive options, and where an export may write.

    Fills in an export's ``format`` from the output's suffix. Raises :class:`UsageError`.
    """
    if args.sandbox is not None and args.base_url is not None:
        raise UsageError("--sandbox and --base-url exclude each other")
    if args.command == "export":
        if args.format is None:
            args.format = "csv" if args.output.lower().endswith(".csv") else "jsonl"
        if args.output == "-" and args.resume:
            raise UsageError("--resume needs a file (-o FILE), not stdout")
        if args.output == "-" and args.dedupe:
            raise UsageError(
                "--dedupe needs a file (-o FILE), not stdout: it rewrites the file at the end"
            )
        if args.since_last is not None:
            if args.api != "v2":
                raise UsageError("--since-last needs --api v2 (its keyset walk is the mark)")
            if args.since is not None:
                raise UsageError("--since-last and --since exclude each other: the mark says since")
            if args.since_last == args.output or os.path.isdir(args.since_last):
                raise UsageError("--since-last needs a file of its own (not FILE, not a directory)")
        if args.concurrency is not None and args.api != "v2":
            raise UsageError("--concurrency is for --api v2: the v1 walk reads one page at a time")
        if args.normalized and args.format != "jsonl":
            raise UsageError("--normalized is for JSONL: CSV always flattens the API's contacts")
        if not args.formula_guard and args.format != "csv":
            raise UsageError("--no-formula-guard is for CSV: JSONL has no formulas to guard")
        if args.output != "-" and os.path.isdir(args.output):
            raise UsageError(f"{args.output} is a directory: give a file name with -o")
