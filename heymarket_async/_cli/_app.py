"""The ``heymarket-async`` command: argument parsing, dispatch, exit codes, one-line errors.

Exit codes: 0 done; 1 the API or the network failed (or a file could not be written), with one
line naming the status and request id; 2 a usage error (bad flags, bad input, no credentials, a
resume that does not match); 130 interrupted by Ctrl-C (143 by SIGTERM), with the resume point
saved; 141 the reader of ``-o -`` went away. An expected failure never prints a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import IO, Any, Final, NoReturn, TextIO

from yarl import URL

from heymarket_async import HeymarketClient
from heymarket_async._sansio import DEFAULT_BASE_URL, parse_timestamp
from heymarket_async._version import __version__
from heymarket_async.errors import HeymarketError, InvalidRequestError

from ._export import (
    ExportFailedError,
    ExportOptions,
    ExportResult,
    ExportStatus,
    run_export,
)
from ._output import contact_record
from ._progress import BarProgress, NullProgress, Progress
from ._state import ExportPaths, StateError

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

PROG: Final = "heymarket-async"
EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130
EXIT_TERMINATED: Final = 143
#: The reader of ``-o -`` closed the pipe: what a shell reports for a process killed by SIGPIPE.
EXIT_BROKEN_PIPE: Final = 141

#: Heymarket's documented limit, requests per minute per key.
HEYMARKET_RATE_LIMIT: Final = 500.0

_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
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


class _UsageError(Exception):
    """A command-line value that argparse could not check by itself."""


def _time(value: str) -> datetime:
    """An RFC 3339 time or a date (midnight UTC); a time without an offset is taken as UTC."""
    try:
        parsed = parse_timestamp(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a time: give RFC 3339 (2024-05-01T12:00:00Z) or a date (2024-05-01)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _count(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a count (an int >= 0)")
    return n


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    # Not ``seconds <= 0``: NaN compares false to everything.
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration (seconds > 0)")
    return seconds


_SECRET_FLAGS: Final = ("--api-key", "--secret-id", "--secret-key")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose error messages never show the strings in ``hide``."""

    hide: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No abbreviations: ``--api-ke KEY`` must not be read as ``--api-key KEY``, and a flag
        # spelt in full is the only one whose value ``_secrets_in`` needs to find.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        # argparse quotes what it did not understand, which may be a key typed before the
        # subcommand (``heymarket-async --api-key KEY count``).
        for secret in self.hide:
            message = message.replace(secret, "***")
        super().error(message)


def _secrets_in(argv: Sequence[str]) -> list[str]:
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


def _rate(value: str) -> float:
    try:
        rpm = float(value)
    except ValueError:
        rpm = -1.0
    if not rpm >= 0 or rpm == float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} is not a rate (requests per minute >= 0)")
    return rpm


def build_parser(*, hide: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The whole command line. Connection options are accepted after any subcommand.

    Error messages show ``***`` in place of any string in ``hide`` (the credentials given).
    """
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

    export = command("export", "stream every contact to a JSONL or CSV file")
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default="contacts.jsonl",
        help="where to write (default contacts.jsonl; - for stdout)",
    )
    export.add_argument("--format", choices=("jsonl", "csv"), help="default: from FILE's suffix")
    export.add_argument(
        "--since",
        type=_time,
        metavar="TIME",
        help="only contacts updated after TIME (RFC 3339, or a date: midnight UTC)",
    )
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
    export.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary")

    count = command("count", "print how many contacts there are")
    count.add_argument(
        "--since",
        type=_time,
        metavar="TIME",
        help="only contacts updated after TIME (RFC 3339, or a date: midnight UTC)",
    )

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


# -- running ----------------------------------------------------------------------------------


class _Streams:
    def __init__(self, stdout: TextIO, stderr: TextIO) -> None:
        self.stdout = stdout
        self.stderr = stderr

    def error(self, message: str) -> None:
        self.stderr.write(f"{PROG}: error: {message}\n")
        self.stderr.flush()

    def note(self, message: str) -> None:
        self.stderr.write(f"{PROG}: {message}\n")
        self.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["fake-server"]:
        return _fake_server(args_list[1:])
    streams = _Streams(sys.stdout, sys.stderr)
    try:
        args = build_parser(hide=_secrets_in(args_list)).parse_args(args_list)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        _check(args)
    except _UsageError as exc:
        streams.error(str(exc))
        return EXIT_USAGE
    status = ExportStatus()
    # The SDK logs a retry as a WARNING on its logger, which has only a NullHandler: the
    # command shows them (one line each, as its own notes), unless --quiet.
    retries = _RetryLines(streams)
    sdk_logger = logging.getLogger("heymarket_async")
    if not getattr(args, "quiet", False):
        sdk_logger.addHandler(retries)
    try:
        return asyncio.run(_run(args, streams, status))
    except KeyboardInterrupt:
        # Ctrl-C before the loop's own handler was in place, or after it was removed.
        if status.finished:
            return EXIT_OK
        streams.note("interrupted")
        return EXIT_INTERRUPTED
    finally:
        sdk_logger.removeHandler(retries)


class _RetryLines(logging.Handler):
    """The SDK's WARNINGs (its retries) as the command's own notes on stderr."""

    def __init__(self, streams: _Streams) -> None:
        super().__init__(logging.WARNING)
        self._streams = streams

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._streams.stderr.isatty():
                self._streams.stderr.write("\r\x1b[K")  # off the progress bar's line
            self._streams.note(record.getMessage())
        except Exception:  # a closed stderr must not break the command
            self.handleError(record)


def _fake_server(argv: list[str]) -> int:
    try:
        from heymarket_async.testing._serve import main as emulator_main
    except ImportError as exc:  # pragma: no cover - the emulator ships with the package
        sys.stderr.write(f"{PROG}: error: the emulator is not available: {exc}\n")
        return EXIT_FAILURE
    result = emulator_main(argv)
    return result if isinstance(result, int) else EXIT_OK


def _check(args: argparse.Namespace) -> None:
    if args.sandbox is not None and args.base_url is not None:
        raise _UsageError("--sandbox and --base-url exclude each other")
    if args.command == "export":
        if args.format is None:
            args.format = "csv" if args.output.lower().endswith(".csv") else "jsonl"
        if args.output == "-" and args.resume:
            raise _UsageError("--resume needs a file (-o FILE), not stdout")
        if args.output != "-" and os.path.isdir(args.output):
            raise _UsageError(f"{args.output} is a directory: give a file name with -o")


async def _run(args: argparse.Namespace, streams: _Streams, status: ExportStatus) -> int:
    """Run the command in a task that SIGINT and SIGTERM cancel, so it stops between pages.

    A signal after an export finished (while the client closes) changes nothing: it exits 0.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(_dispatch(args, streams, status))
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        task.cancel()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows, threads
            pass
    try:
        return await task
    except asyncio.CancelledError:
        if not received:
            raise
        if status.finished:
            return EXIT_OK
        return EXIT_TERMINATED if received[0] == signal.SIGTERM else EXIT_INTERRUPTED
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


async def _dispatch(args: argparse.Namespace, streams: _Streams, status: ExportStatus) -> int:
    try:
        async with _connect(args) as (client, source):
            if args.command == "export":
                return await _export(client, source, args, streams, status)
            if args.command == "count":
                text = f"{await client.count_contacts(since=args.since)}\n"
            elif args.command == "fields":
                fields = await client.list_contact_fields()
                text = _json([{"id": f.id, "name": f.name} for f in fields])
            else:
                text = _json(contact_record(await _get(client, args)))
            return _print(streams.stdout, text)
    except asyncio.CancelledError:
        if args.command == "export" and not status.finished:
            _interrupted(args, status, streams)
        raise
    except InvalidRequestError as exc:
        streams.error(_invalid_request_message(exc))
        return EXIT_USAGE
    except StateError as exc:
        streams.error(str(exc))
        return EXIT_USAGE
    except ExportFailedError as exc:
        if isinstance(exc.cause, BrokenPipeError) and args.output == "-":
            return _closed_pipe()
        streams.error(_failure_message(exc.cause))
        if exc.resumable:
            streams.note(
                f"{exc.contacts:,} contacts saved; run the same command with --resume to continue"
            )
        return EXIT_FAILURE
    except (HeymarketError, OSError) as exc:
        streams.error(_failure_message(exc))
        return EXIT_FAILURE


def _closed_pipe() -> int:
    """The reader of stdout went away (``| head``): stop quietly, as a shell pipeline expects."""
    # Point stdout at /dev/null so that the interpreter's final flush does not fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def _interrupted(args: argparse.Namespace, status: ExportStatus, streams: _Streams) -> None:
    if status.resumable:
        streams.note(
            f"interrupted after {status.contacts:,} contacts; "
            "run the same command with --resume to continue"
        )
    else:
        streams.note("interrupted")


def _failure_message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, HeymarketError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return str(exc)


def _invalid_request_message(exc: InvalidRequestError) -> str:
    if exc.field in ("api_key", "secret_id", "secret_key") and "no credentials" in exc.message:
        return (
            "no credentials: set HEYMARKET_API_KEY (or HEYMARKET_SECRET_ID and "
            "HEYMARKET_SECRET_KEY), pass --api-key, or try --sandbox 1000"
        )
    return str(exc)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _print(stream: TextIO, text: str) -> int:
    """Write a command's output; flushed here, so that a closed stdout exits 141, quietly."""
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        return _closed_pipe()
    return EXIT_OK


async def _get(client: HeymarketClient, args: argparse.Namespace) -> Any:
    value: str = args.contact.strip()
    if args.phone:
        return await client.get_contact_by_phone(value)
    # ASCII only: str.isdigit() also takes "\u00b2" (int() refuses it) and "\u0661" (read as 1).
    if value.isascii() and value.isdigit():
        if len(value) > 19:  # past any id the API has (2**63 - 1), and past what int() reads
            raise InvalidRequestError("contact_id", f"an id of {len(value)} digits is too large")
        return await client.get_contact(int(value))
    if _UUID.fullmatch(value):
        return await client.v2.get_contact(value)
    return await client.get_contact_by_phone(value)


@contextlib.asynccontextmanager
async def _connect(args: argparse.Namespace) -> AsyncIterator[tuple[HeymarketClient, str]]:
    """The client the command runs with, and the source a resume state must match."""
    if args.sandbox is not None:
        rate = args.rate_limit or None  # the emulator has no limit of its own to keep to
        async with _sandbox(args.sandbox, args.timeout, args.max_retries, rate) as client:
            yield client, f"sandbox:{args.sandbox}"
        return
    client = HeymarketClient(
        args.api_key,
        secret_id=args.secret_id,
        secret_key=args.secret_key,
        base_url=args.base_url,
        timeout=args.timeout,
        max_retries=args.max_retries,
        rate_limit=_rate_limit(args.rate_limit, args.base_url),
    )
    async with client:
        yield client, client.base_url


def _rate_limit(
    asked: float | None, base_url: str | None, environ: Mapping[str, str] = os.environ
) -> float | None:
    """Requests per minute: as asked (0: none), else Heymarket's 500 for Heymarket's own API.

    Other base URLs (an emulator, a proxy) get no limit unless one is asked for.
    """
    if asked is not None:
        return asked or None
    host = URL(base_url or environ.get("HEYMARKET_BASE_URL") or DEFAULT_BASE_URL).host or ""
    return (
        HEYMARKET_RATE_LIMIT if host == "heymarket.com" or host.endswith(".heymarket.com") else None
    )


@contextlib.asynccontextmanager
async def _sandbox(
    n: int, timeout: float, retries: int, rate_limit: float | None
) -> AsyncIterator[HeymarketClient]:
    # Imported here: the emulator pulls in aiohttp.web, which no other command needs.
    from heymarket_async.testing import FakeHeymarket

    async with FakeHeymarket() as fake:
        # seed=0 makes the same N contacts every run, so a sandbox export can be resumed.
        fake.seed(n, seed=0)
        async with fake.client(
            timeout=timeout, max_retries=retries, rate_limit=rate_limit
        ) as client:
            yield client


async def _export(
    client: HeymarketClient,
    source: str,
    args: argparse.Namespace,
    streams: _Streams,
    status: ExportStatus,
) -> int:
    from ._pages import open_pages

    if args.resume and not args.quiet and not ExportPaths.for_output(args.output).state.exists():
        streams.note(f"nothing to resume for {args.output}: starting a new export")
    show_bar = not args.quiet and streams.stderr.isatty()
    progress: Progress = BarProgress(streams.stderr) if show_bar else NullProgress()
    options = ExportOptions(
        output=args.output,
        format=args.format,
        api=args.api,
        since=args.since,
        resume=args.resume,
        source=source,
    )
    result = await run_export(
        client,
        options,
        open_pages=open_pages,
        progress=progress,
        stdout=_binary(streams.stdout),
        want_total=show_bar,
        status=status,
    )
    if not args.quiet:
        streams.note(_summary(result, args))
        if result.unlisted_fields:
            streams.note(
                "custom fields missing from list_contact_fields have no CSV column: "
                + ", ".join(result.unlisted_fields)
            )
    return EXIT_OK


def _binary(stream: TextIO) -> IO[bytes]:
    stream.flush()
    return stream.buffer


def _summary(result: ExportResult, args: argparse.Namespace) -> str:
    new = result.contacts - result.resumed_from
    rate = new / result.seconds if result.seconds > 0 else 0.0
    where = "stdout" if args.output == "-" else args.output
    line = f"exported {result.contacts:,} contacts to {where} in {result.seconds:.1f} s"
    line += f" ({rate:,.0f}/s)"
    if result.resumed_from:
        line += f", {result.resumed_from:,} of them by an earlier run"
    return line
