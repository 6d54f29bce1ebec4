"""The subcommands, run inside the event loop: export, count, fields and get.

:func:`dispatch` connects (to the API or the sandbox), runs one command, and turns every
expected failure into one line on stderr and its exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import IO, Any, Final, TextIO

from heymarket_async import HeymarketClient, NotFoundError, RedisRateLimiter
from heymarket_async._sansio import DEFAULT_BASE_URL, is_heymarket
from heymarket_async.errors import HeymarketError, InvalidRequestError

from . import _sandbox
from ._console import EXIT_BROKEN_PIPE, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, Streams
from ._export import ExportFailedError, ExportOptions, ExportResult, ExportStatus, run_export
from ._output import contact_record
from ._progress import BarProgress, NullProgress, Progress
from ._state import ExportPaths, StateError

#: Heymarket's documented limit, requests per minute per key.
HEYMARKET_RATE_LIMIT: Final = 500.0

_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)


async def dispatch(args: argparse.Namespace, streams: Streams, status: ExportStatus) -> int:
    """Run ``args.command`` and return its exit code; an export records its progress in
    ``status``. Cancellation (a signal) propagates, after a note on how to resume."""
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
            _interrupted(status, streams)
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
        for note in getattr(exc, "__notes__", ()):
            if note.startswith(_HINT):
                streams.note(note.removeprefix(_HINT))
        return EXIT_FAILURE


def _closed_pipe() -> int:
    """The reader of stdout went away (``| head``): stop quietly, as a shell pipeline expects."""
    # Point stdout at /dev/null so that the interpreter's final flush does not fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def _interrupted(status: ExportStatus, streams: Streams) -> None:
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


#: A note the command prints under the error (the other notes, the attempts, it leaves out).
_HINT: Final = "hint: "


async def _get(client: HeymarketClient, args: argparse.Namespace) -> Any:
    value: str = args.contact.strip()
    if args.phone:
        return await client.get_contact_by_phone(value)
    # ASCII only: str.isdigit() also takes "\u00b2" (int() refuses it) and "\u0661" (read as 1).
    if value.isascii() and value.isdigit():
        if len(value) > 19:  # past any id the API has (2**63 - 1), and past what int() reads
            raise InvalidRequestError("contact_id", f"an id of {len(value)} digits is too large")
        try:
            return await client.get_contact(int(value))
        except NotFoundError as exc:
            if len(value) >= 10:  # ten digits or more reads like a phone more than an id
                # Not repeating the digits: the error masks them as a phone number.
                hint = f"{_HINT}the digits were read as a v1 id; for a phone, put + first"
                exc.__notes__ = [*getattr(exc, "__notes__", ()), hint]  # type: ignore[attr-defined,unused-ignore]
            raise
    if _UUID.fullmatch(value):
        return await client.v2.get_contact(value)
    return await client.get_contact_by_phone(value)


@contextlib.asynccontextmanager
async def _connect(args: argparse.Namespace) -> AsyncIterator[tuple[HeymarketClient, str]]:
    """The client the command runs with, and the source a resume state must match."""
    if args.sandbox is not None:
        rate = args.rate_limit or None  # the emulator has no limit of its own to keep to
        # Looked up on the module at each call, so that a test can wrap it.
        async with _sandbox.sandbox(args.sandbox, args.timeout, args.max_retries, rate) as client:
            yield client, f"sandbox:{args.sandbox}"
        return
    shared = _redis_limiter(args)
    try:
        client = HeymarketClient(
            args.api_key,
            secret_id=args.secret_id,
            secret_key=args.secret_key,
            base_url=args.base_url,
            timeout=args.timeout,
            max_retries=args.max_retries,
            rate_limit=_rate_limit(args.rate_limit, args.base_url) if shared is None else shared,
        )
        async with client:
            yield client, client.base_url
    finally:
        if shared is not None:
            await shared.aclose()


def _redis_limiter(
    args: argparse.Namespace, environ: Mapping[str, str] = os.environ
) -> RedisRateLimiter | None:
    """The key's budget shared through Redis, when ``--redis-url`` or ``HEYMARKET_REDIS_URL``
    asks for it: ``--rate-limit`` a minute in total, else Heymarket's 500, whatever the base URL
    (the workers beside the command pace the key too)."""
    url = args.redis_url or environ.get("HEYMARKET_REDIS_URL")
    if not url:
        return None
    if args.rate_limit == 0:
        raise InvalidRequestError("redis_url", "sharing a budget needs a --rate-limit above 0")
    # What the workers give as key= too: the secret pair's id, or the API key, from the
    # credentials the client is about to use (given before environment, a pair before a key).
    key = (
        args.secret_id
        or args.api_key
        or environ.get("HEYMARKET_SECRET_ID")
        or environ.get("HEYMARKET_API_KEY")
    )
    if not key:
        return None  # no credentials: the client says so
    try:
        return RedisRateLimiter(url, key=key, per_minute=args.rate_limit or HEYMARKET_RATE_LIMIT)
    except (ImportError, ValueError) as exc:
        raise InvalidRequestError("redis_url", str(exc)) from None


def _rate_limit(
    asked: float | None, base_url: str | None, environ: Mapping[str, str] = os.environ
) -> float | None:
    """Requests per minute: as asked (0: none), else Heymarket's 500 for Heymarket's own API.

    Other base URLs (an emulator, a proxy) get no limit unless one is asked for.
    """
    if asked is not None:
        return asked or None
    url = base_url or environ.get("HEYMARKET_BASE_URL") or DEFAULT_BASE_URL
    return HEYMARKET_RATE_LIMIT if is_heymarket(url) else None


async def _export(
    client: HeymarketClient,
    source: str,
    args: argparse.Namespace,
    streams: Streams,
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
        dedupe=args.dedupe,
        mark=None if args.since_last is None else Path(args.since_last),
        normalized=args.normalized,
        formula_guard=args.formula_guard,
    )
    result = await run_export(
        client,
        options,
        open_pages=functools.partial(open_pages, concurrency=args.concurrency),
        progress=progress,
        stdout=_binary(streams.stdout),
        want_total=show_bar,
        status=status,
    )
    if not args.quiet:
        streams.note(_summary(result, args))
        if result.unplaced:
            streams.note(_unplaced_note(result.unplaced))
    return EXIT_OK


def _unplaced_note(unplaced: tuple[tuple[str, int], ...], shown: int = 10) -> str:
    """One line naming what the CSV had no column for (the ``shown`` most frequent), with how
    many contacts had it."""
    parts = [
        f"{key if key.isprintable() else repr(key)} ({n:,} contact{'' if n == 1 else 's'})"
        for key, n in unplaced[:shown]
    ]
    if len(unplaced) > shown:
        parts.append(f"and {len(unplaced) - shown:,} more")
    return "not in the CSV: " + ", ".join(parts)


def _binary(stream: TextIO) -> IO[bytes]:
    stream.flush()
    return stream.buffer


def _summary(result: ExportResult, args: argparse.Namespace) -> str:
    if result.already_complete:
        state = ExportPaths.for_output(args.output).state
        return f"{args.output} was already complete: removed {state.name}"
    new = result.contacts - result.resumed_from
    rate = new / result.seconds if result.seconds > 0 else 0.0
    where = "stdout" if args.output == "-" else args.output
    kept = result.contacts - result.dropped
    line = f"exported {kept:,} contacts to {where} in {result.seconds:.1f} s"
    line += f" ({rate:,.0f}/s)"
    if result.resumed_from:
        line += f", {result.resumed_from:,} of them by an earlier run"
    if result.incremental:
        line += f"; changed since {args.since_last}"
    elif args.since_last is not None:
        line += f"; first mark {args.since_last}"
    if result.tracked is not None:
        checked = f"{result.tracked:,} recent contact{'' if result.tracked == 1 else 's'} checked"
        if result.dropped:
            line += (
                f"; dropped {result.dropped:,} older versions of contacts changed during the "
                f"export ({checked})"
            )
        else:
            line += f"; no contact came twice ({checked})"
    return line
