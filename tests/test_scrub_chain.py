"""Nothing secret or personal in what an error shows, down its whole chain.

The server here is the worst one can be: it echoes the credential it received (the API key or
the signed JWT), another JWT, a phone number and an email into every field it can: the
``updated`` time the v1 walk pages on, ``X-Request-Id``, error bodies, contact ids that do not
fit the model, bulk failure reasons. Every error raised is then searched whole: its ``str``
and ``repr``, its notes, every exception it chains (``__cause__``, ``__context__``, the members
of an exception group) and the traceback ``logger.exception`` would print; so are every log
record (at DEBUG, from every logger) and every field of every :class:`RequestEvent`.

Masking is not blind either: a contact id of eight digits or more is an id, not a phone.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from heymarket_async import (
    HeymarketClient,
    HeymarketError,
    Hooks,
    InvalidResponseError,
    NotFoundError,
    PaginationError,
    RequestEvent,
    RetryPolicy,
)
from heymarket_async._auth import sign_jwt
from heymarket_async._redact import mask, scrub_error
from tests._cli_helpers import CREDENTIAL_VARS, run
from tests._server import API_KEY, CatchAllServer

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup, ExceptionGroup
else:  # pragma: no cover - cattrs depends on the backport there
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup

SECRET_ID = "team-secret-id-77"
SECRET_KEY = "s3cr3t-key-that-must-never-show"
FOREIGN_JWT = sign_jwt("someone-else", "their-secret", 1_700_000_000)
PHONE = "15105553344"
EMAIL = "jordan.doe@example.com"
UUID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]+")
CREDENTIALS: dict[str, dict[str, Any]] = {
    "api_key": {"api_key": API_KEY},
    "secret_pair": {"secret_id": SECRET_ID, "secret_key": SECRET_KEY},
}
#: What must never show (the credential the client sent is added per test).
PERSONAL = (PHONE, "+1 (510) 555-3344", EMAIL, "jordan.doe@", FOREIGN_JWT, SECRET_KEY)


def leak(request: web.Request) -> str:
    """Everything the server can echo, in one string."""
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return f"{token} {FOREIGN_JWT} {PHONE} +1 (510) 555-3344 {EMAIL}"


class LeakyServer(CatchAllServer):
    """A loopback API that puts :func:`leak` everywhere."""

    def __init__(self) -> None:
        self.sent: list[str] = []  # the Authorization tokens received

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        text = leak(request)
        self.sent.append(request.headers.get("Authorization", "").removeprefix("Bearer "))
        headers = {"X-Request-Id": text}
        route = (request.method, request.path)
        data: Any
        status = 200
        if route == ("POST", "/v1/contacts"):
            data = [{"id": 1, "phone": "15105550000", "updated": text}]
        elif route == ("GET", "/v1/contact/1"):
            data = {"id": text, "phone": "15105550000"}  # an id that is no int
        elif route == ("GET", "/v1/contact/2"):
            data, status = {"error": {"message": text}, "detail": text}, 404
        elif route == ("GET", "/v1/contact/3"):
            return web.Response(status=200, text=f"<html>{text}</html>", headers=headers)
        elif route == ("POST", "/v1/batch/contacts"):
            data = [{"phone": PHONE, "error": text}]
        elif route == ("POST", "/v2/contacts"):
            data = {"contacts": [], "failed_contacts": [{"uuid": UUID, "message": text}]}
        elif route == ("POST", "/v2/contacts/list"):
            data = [{"id": 1, "uuid": UUID, "updated": text}]
        else:
            data, status = {"message": text}, 400  # not retried: no test waits on a backoff
        return web.json_response(data, status=status, headers=headers)


@pytest.fixture
async def leaky() -> AsyncIterator[LeakyServer]:
    async with LeakyServer() as server:
        yield server


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it links to, once each."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        if isinstance(current, BaseExceptionGroup):
            todo += list(current.exceptions)


def shown(exc: BaseException) -> list[str]:
    """Everything an error shows: str, repr and notes of each link, its printed traceback."""
    out = ["".join(traceback.format_exception(exc))]
    for link in chain(exc):
        out += [str(link), repr(link), *getattr(link, "__notes__", ())]
        out += [getattr(link, name, None) or "" for name in ("message", "request_id", "cursor")]
    return [str(text) for text in out]


def event_texts(events: list[RequestEvent]) -> list[str]:
    out = []
    for event in events:
        out += [repr(event), str(event.request_id)]
        if event.error is not None:
            out += shown(event.error)
    return out


def assert_clean(texts: list[str], forbidden: tuple[str, ...]) -> None:
    assert texts
    for text in texts:
        for secret in forbidden:
            assert secret not in text, (secret, text)
        assert not JWT.search(text), text


async def failures(server: LeakyServer, **credentials: Any) -> tuple[list[Exception], Any]:
    """Every call that meets a leak: the errors raised, and the bulk results."""
    events: list[RequestEvent] = []
    hooks = Hooks(on_request=events.append, on_response=events.append, on_retry=events.append)
    errors: list[Exception] = []
    async with HeymarketClient(
        base_url=server.url, retry=RetryPolicy.disabled(), hooks=hooks, **credentials
    ) as hm:
        for call in (
            hm.iter_contacts().__anext__(),
            hm.get_contact(1),
            hm.get_contact(2),
            hm.get_contact(3),
            hm.v2.get_contact(UUID),
        ):
            try:
                await call
            except HeymarketError as exc:
                errors.append(exc)
        bulk = [
            await hm.batch_create_contacts([{"phone": PHONE}]),
            await hm.v2.upsert_contacts([{"uuid": UUID, "first": "Jo"}]),
        ]
    return errors, (events, bulk)


class TestTheWholeChainIsScrubbed:
    @pytest.mark.parametrize("kind", CREDENTIALS)
    async def test_no_credential_jwt_phone_or_email_anywhere(
        self, leaky: LeakyServer, caplog: pytest.LogCaptureFixture, kind: str
    ) -> None:
        caplog.set_level(logging.DEBUG)
        errors, (events, bulk) = await failures(leaky, **CREDENTIALS[kind])
        assert [type(e) for e in errors] == [
            PaginationError,
            InvalidResponseError,
            NotFoundError,
            InvalidResponseError,
            type(errors[4]),
        ]
        token = leaky.sent[0]
        assert len(token) > 10
        forbidden = (*PERSONAL, token)
        for exc in errors:
            assert_clean(shown(exc), forbidden)
        # What logger.exception prints, for the error that chains a structure error.
        assert isinstance(errors[1].__cause__, Exception)
        assert_clean([r.getMessage() for r in caplog.records], forbidden)
        assert_clean([logging.Formatter().format(r) for r in caplog.records], forbidden)
        assert any(e.request_id for e in events)
        assert_clean(event_texts(events), forbidden)
        reasons = [item.reason or "" for result in bulk for item in result.items]
        assert all(reasons)
        assert any("***" in r for r in reasons)
        assert_clean(reasons, forbidden)
        # The raw failure entry keeps the customer's data, never a credential.
        raw = [repr(item.detail) for result in bulk for item in result.items]
        for text in raw:
            assert token not in text
            assert SECRET_KEY not in text

    async def test_logger_exception_shows_no_raw_value_of_a_structure_error(
        self, leaky: LeakyServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with HeymarketClient(API_KEY, base_url=leaky.url, max_retries=0) as hm:
            try:
                await hm.get_contact(1)
            except InvalidResponseError:
                logging.getLogger("app").exception("lookup failed")
        (record,) = [r for r in caplog.records if r.name == "app"]
        printed = logging.Formatter().format(record)
        assert "StructureError" in printed  # the cause is still there to read
        assert_clean([printed], (*PERSONAL, API_KEY))

    async def test_log_pii_shows_phones_but_never_a_credential(self, leaky: LeakyServer) -> None:
        async with HeymarketClient(API_KEY, base_url=leaky.url, max_retries=0, log_pii=True) as hm:
            with pytest.raises(PaginationError) as info:
                await hm.iter_contacts().__anext__()
        texts = shown(info.value)
        assert any(PHONE in t for t in texts)
        assert_clean(texts, (API_KEY, FOREIGN_JWT))


@contextmanager
def threaded_leaky() -> Iterator[LeakyServer]:
    """A :class:`LeakyServer` on a loop of its own thread, for in-process CLI runs."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = LeakyServer()
    asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(timeout=10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


class TestTheCommandLine:
    @pytest.mark.parametrize("api", ["v1", "v2"])
    def test_export_prints_no_credential_jwt_phone_or_email(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        api: str,
    ) -> None:
        for name in CREDENTIAL_VARS:
            monkeypatch.delenv(name, raising=False)
        with threaded_leaky() as server:
            argv = ["export", "--api", api, "--api-key", API_KEY, "--base-url", server.url]
            code, out, err = run([*argv, "-o", str(tmp_path / "out.jsonl"), "-q"], capsys)
        assert code == 1
        assert "***" in err
        assert_clean([out, err], (*PERSONAL, API_KEY))


class TestScrubError:
    """The function every error passes through, on exceptions of any kind."""

    def test_walks_causes_contexts_notes_and_groups(self) -> None:
        inner = KeyError(f"key {API_KEY}")
        group = ExceptionGroup("while reading", [ValueError(PHONE), inner])
        try:
            try:
                raise group
            except ExceptionGroup as exc:
                raise PaginationError(f"stuck at {PHONE}", cursor=API_KEY) from exc
        except PaginationError as exc:
            err = exc
        err.add_note(f"note {EMAIL}")
        scrub_error(err, lambda text: mask(text, [API_KEY]))
        assert_clean(shown(err), (*PERSONAL, API_KEY))
        assert err.cursor == "***"
        # What could be scrubbed in place was: the types stay, for code that inspects them.
        assert isinstance(err.__cause__, ExceptionGroup)
        assert err.__cause__.exceptions[1] is inner

    def test_a_group_whose_message_shows_something_is_replaced(self) -> None:
        err = PaginationError("stuck")
        err.__cause__ = ExceptionGroup(f"group of {EMAIL}", [ValueError(PHONE)])
        scrub_error(err, mask)
        assert_clean(shown(err), PERSONAL)
        printed = "".join(traceback.format_exception(err))
        assert "ExceptionGroup: group of j***@example.com" in printed
        assert "ValueError: *********44" in printed

    def test_an_exception_whose_text_is_not_its_args_is_replaced_in_the_chain(self) -> None:
        class Stubborn(Exception):
            def __str__(self) -> str:
                return f"stubborn {PHONE}"

        err = InvalidResponseError("bad", status=200, method="GET", url="u")
        err.__cause__ = Stubborn()
        scrub_error(err, mask)
        assert_clean(shown(err), PERSONAL)
        assert "Stubborn" in "".join(traceback.format_exception(err))

    def test_a_cycle_in_the_chain_ends(self) -> None:
        a = ValueError(PHONE)
        b = PaginationError(EMAIL)
        a.__context__ = b
        b.__context__ = a
        scrub_error(b, mask)
        assert_clean([str(a), str(b)], PERSONAL)


class TestIdsAreNotPhones:
    @pytest.mark.parametrize(
        "text",
        [
            "contact 99999999 not found",
            "for GET http://127.0.0.1:8080/v1/contact/123456789",
            "id 99999999",
            'id: 99999999, "id": 12345678',
            "contact_id=12345678",
            "tag 55555555 not found",
        ],
    )
    def test_a_number_named_as_an_id_is_kept(self, text: str) -> None:
        assert mask(text) == text

    @pytest.mark.parametrize(
        ("text", "masked"),
        [
            (f"phone {PHONE} is taken", "phone *********44 is taken"),
            ("contact +15105553344 not found", "contact *********44 not found"),
            ("contact 15105553344 refused", "contact *********44 refused"),
            ("GET /v1/contact/5105553344", "GET /v1/contact/********44"),
            ("{'channel_id': '12345678'}", "{'channel_id': '******78'}"),
            ("call (510) 555-3344", "call ********44"),
            (f'{{"phone": "{PHONE}"}}', '{"phone": "*********44"}'),
        ],
    )
    def test_a_phone_is_still_masked(self, text: str, masked: str) -> None:
        assert mask(text) == masked

    async def test_a_long_contact_id_shows_in_a_not_found_error(self) -> None:
        from heymarket_async.testing import FakeHeymarket

        async with FakeHeymarket() as fake, fake.client(max_retries=0) as hm:
            with pytest.raises(NotFoundError) as info:
                await hm.get_contact(99999999)
        assert "contact 99999999 not found" in str(info.value)
        assert "/v1/contact/99999999" in str(info.value)


class TestCredentialsInAnAnswer:
    """A 2xx body is customer data, kept as sent, except for the client's own credentials."""

    def test_an_echoed_key_is_replaced_wherever_it_is_and_nothing_else_changes(self) -> None:
        from heymarket_async._sansio import TransportResponse, decode_response

        data = {"id": 1, "note": f"key {API_KEY}", API_KEY: [PHONE, FOREIGN_JWT, EMAIL]}
        got = decode_response(TransportResponse.from_json(data), "GET", "u", [API_KEY])
        assert got == {"id": 1, "note": "key ***", "***": [PHONE, FOREIGN_JWT, EMAIL]}

    def test_a_key_spelled_with_json_escapes_is_found_too(self) -> None:
        from heymarket_async._sansio import TransportResponse, decode_response

        spelled = "".join(f"\\u{ord(c):04x}" for c in API_KEY)
        body = f'{{"updated": "{spelled}"}}'.encode()
        response = TransportResponse(200, {"Content-Type": "application/json"}, body)
        assert decode_response(response, "GET", "u", [API_KEY]) == {"updated": "***"}

    @pytest.mark.parametrize(
        "escaped",
        [
            # Only the key's "/" escaped, after escapes that spell nothing ("\\n", '\\"').
            lambda key: 'a\\nb\\"c ' + key.replace("/", "\\/"),
            # Its last character spelled, after an escaped backslash ("\\\\").
            lambda key: "\\\\ " + key[:-1] + f"\\u{ord(key[-1]):04x}",
            # Its first character spelled, after the escape of a character past ASCII.
            lambda key: "Jos\\u00e9 " + f"\\u{ord(key[0]):04X}" + key[1:],
        ],
    )
    def test_a_key_spelled_after_other_escapes_is_found_too(
        self, escaped: Callable[[str], str]
    ) -> None:
        from heymarket_async._sansio import TransportResponse, decode_response

        key = "sk/" + API_KEY
        body = f'{{"note": "{escaped(key)}"}}'.encode()
        response = TransportResponse(200, {"Content-Type": "application/json"}, body)
        got = decode_response(response, "GET", "u", [key])
        assert isinstance(got, dict)
        assert "***" in got["note"]
        assert key not in got["note"]
