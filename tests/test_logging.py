"""Log lines and errors: one DEBUG line per attempt, one WARNING per retry, and nothing secret.

The server here echoes back the Authorization header it received and the customer's phone
number and email in its error messages, the worst a server can do; every log record (at DEBUG,
from every logger) and every error the client raises is then searched for them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from heymarket_async import APIConnectionError, HeymarketClient, HeymarketError, RetryPolicy
from heymarket_async.testing import MockTransport
from tests._fakes import FakeTime
from tests._server import API_KEY, Reply, WireServer, json_reply, text_reply

SECRET_ID = "team-secret-id-77"
SECRET_KEY = "s3cr3t-key-that-must-never-show"
PHONE = "15105553344"
EMAIL = "jordan.doe@example.com"
#: The phone as a person types it, and as the server might write it back.
PHONE_FORMS = (PHONE, "+1 (510) 555-3344", "510-555-3344")
JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]+")


class EchoServer(WireServer):
    """Replies with ``{auth}`` in the body replaced by the request's Authorization header."""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if self.replies:
            head = self.replies[0]
            self.replies[0] = Reply(
                head.status,
                head.body.replace(b"{auth}", auth.encode()),
                head.headers,
                head.delay,
                head.drop,
            )
        return await super()._handle(request)


def leaky(status: int, **headers: str) -> Reply:
    message = f"contact {PHONE} ({EMAIL}, +1 (510) 555-3344) refused; you sent {{auth}}"
    return json_reply({"error": {"message": message}}, status, **headers)


@pytest.fixture
async def echo() -> AsyncIterator[EchoServer]:
    server = EchoServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


CREDENTIALS: dict[str, dict[str, Any]] = {
    "api_key": {"api_key": API_KEY},
    "secret_pair": {"secret_id": SECRET_ID, "secret_key": SECRET_KEY},
}


async def run_with_failures(
    server: EchoServer, *, log_pii: bool, **credentials: Any
) -> tuple[list[HeymarketError], str]:
    """A walk through every kind of failure; returns the errors raised and the JWT sent."""
    fake = FakeTime()
    errors: list[HeymarketError] = []
    server.reply(
        # A read: 503, 429, dropped, cut short, then the answer.
        leaky(503),
        leaky(429, **{"Retry-After": "0"}),
        Reply(drop=True),
        text_reply('[{"id": 1, "phone": "15105553344", "ema'),
        json_reply([{"id": 1, "phone": PHONE, "email": EMAIL}]),
        # A create answered 500, and a read answered 404 with no retry at all.
        leaky(500),
        leaky(404),
        # A create that is refused for good.
        leaky(400),
    )
    policy = RetryPolicy(max_retries=5)
    async with HeymarketClient(
        base_url=server.url, retry=policy, log_pii=log_pii, **credentials
    ) as hm:
        fake.install(hm)
        contacts = await hm.list_contacts()
        assert contacts[0].phone == PHONE
        for call in (
            hm.create_contact(PHONE, email=EMAIL, first="Jordan"),
            hm.get_contact(1),
            hm.v2.create_contact([("phone", "+1 (510) 555-3344"), ("email", EMAIL)]),
        ):
            try:
                await call
            except HeymarketError as exc:
                errors.append(exc)
    assert len(errors) == 3
    sent = server.requests[0].headers["Authorization"].removeprefix("Bearer ")
    return errors, sent


def texts_of(
    records: list[logging.LogRecord], errors: list[HeymarketError], *, raw: bool = False
) -> list[str]:
    """Every log line, and every error's str, repr, notes and message.

    ``raw`` adds each error's ``text``: the raw body, kept as the server sent it (customer data
    included, for the caller to inspect), but never with a credential in it.
    """
    out = [r.getMessage() for r in records]
    for exc in errors:
        out += [str(exc), repr(exc), *getattr(exc, "__notes__", []), getattr(exc, "message", "")]
        if raw:
            out.append(getattr(exc, "text", ""))
    return out


class TestNothingSecretIsEverShown:
    @pytest.mark.parametrize("kind", CREDENTIALS)
    async def test_no_key_secret_jwt_phone_or_email_in_any_log_line_or_error(
        self, echo: EchoServer, caplog: pytest.LogCaptureFixture, kind: str
    ) -> None:
        caplog.set_level(logging.DEBUG)  # the root logger: aiohttp's records are searched too
        errors, sent = await run_with_failures(echo, log_pii=False, **CREDENTIALS[kind])
        if kind == "secret_pair":
            assert JWT.fullmatch(sent)  # the client really sent a JWT for the server to echo
        assert echo.requests[0].body  # and the server really echoed it into its errors
        texts = texts_of(caplog.records, errors)
        assert any("***" in t for t in texts)
        for text in texts:
            for secret in (*PHONE_FORMS, EMAIL, "jordan.doe@"):
                assert secret not in text, (secret, text)
        for text in texts_of(caplog.records, errors, raw=True):
            for secret in (API_KEY, SECRET_KEY, sent):
                assert secret not in text, (secret, text)
            assert not JWT.search(text), text

    async def test_a_secret_in_a_transport_message_is_replaced(self) -> None:
        # Whatever put it there (a proxy's error text, a library's message), it goes.
        def send(_: object) -> Any:
            raise APIConnectionError(f"proxy refused key {API_KEY}", method="GET", url="u")

        async with HeymarketClient(API_KEY, max_retries=0, transport=MockTransport(send)) as hm:
            with pytest.raises(APIConnectionError) as info:
                await hm.get_contact(1)
        assert API_KEY not in str(info.value)
        assert "proxy refused key ***" in str(info.value)

    async def test_repr_of_the_client_shows_no_secret(self) -> None:
        for credentials in CREDENTIALS.values():
            text = repr(HeymarketClient(**credentials))
            assert API_KEY not in text
            assert SECRET_KEY not in text

    async def test_log_pii_shows_phones_and_emails_but_never_credentials(
        self, echo: EchoServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        errors, sent = await run_with_failures(echo, log_pii=True, **CREDENTIALS["secret_pair"])
        texts = texts_of(caplog.records, errors, raw=True)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(PHONE in w and EMAIL in w for w in warnings)
        assert PHONE in str(errors[0])
        for text in texts:
            assert SECRET_KEY not in text
            assert sent not in text
            assert not JWT.search(text), text

    def test_log_pii_must_be_a_bool(self) -> None:
        with pytest.raises(ValueError, match="log_pii"):
            HeymarketClient(API_KEY, log_pii="yes")  # type: ignore[arg-type]


class TestLogLines:
    async def test_one_debug_line_per_attempt_and_one_warning_per_retry(
        self, wire: WireServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG, logger="heymarket_async")
        wire.reply(
            json_reply({}, 503),
            json_reply({}, 429, **{"Retry-After": "2"}),
            # A POST read: aiohttp itself silently resends a GET on a dropped pooled
            # connection, which would hide this attempt from the pipeline.
            Reply(drop=True),
            json_reply([], **{"X-Request-Id": "abc-123"}),
        )
        fake = FakeTime()
        async with HeymarketClient(API_KEY, base_url=wire.url) as hm:
            fake.install(hm)
            await hm.list_contacts()
        ours = [r for r in caplog.records if r.name == "heymarket_async"]
        debug = [r.getMessage() for r in ours if r.levelno == logging.DEBUG]
        warning = [r.getMessage() for r in ours if r.levelno == logging.WARNING]
        assert len(debug) == 4
        assert len(warning) == 3
        line = r"POST /v1/contacts -> {} in \d+\.\d ms \(request id {}, attempt {}\)"
        assert re.fullmatch(line.format(503, "req-1", 1), debug[0])
        assert re.fullmatch(line.format(429, "req-2", 2), debug[1])
        assert re.fullmatch(
            r"POST /v1/contacts -> APIConnectionError after \d+\.\d ms \(attempt 3\)", debug[2]
        )
        assert re.fullmatch(line.format(200, "abc-123", 4), debug[3])
        assert warning[0].startswith("retrying POST /v1/contacts in ")
        assert "(attempt 1 of 4 failed: 503 Service Unavailable for POST" in warning[0]
        assert warning[1].startswith("retrying POST /v1/contacts in 2.00 s (attempt 2 of 4")
        assert "429 Too Many Requests" in warning[1]
        assert "(attempt 3 of 4 failed: " in warning[2]

    async def test_nothing_logged_above_debug_on_success(
        self, wire: WireServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="heymarket_async")
        wire.reply(json_reply({"id": 42}))
        async with HeymarketClient(API_KEY, base_url=wire.url) as hm:
            await hm.get_contact(42)
        assert [r for r in caplog.records if r.name == "heymarket_async"] == []


class TestQuietUnlessConfigured:
    async def test_a_retry_warning_is_not_printed_when_the_app_configured_no_logging(
        self, wire: WireServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # An app that never configured logging: the root logger has no handler (pytest's
        # capture handler is taken away here), so logging's last-resort handler would print any
        # record that reaches no handler on stderr. The library's NullHandler is that handler.
        printed: list[logging.LogRecord] = []
        last_resort = logging.Handler(logging.WARNING)
        last_resort.emit = printed.append  # type: ignore[method-assign]
        monkeypatch.setattr(logging.root, "handlers", [])
        monkeypatch.setattr(logging, "lastResort", last_resort)
        wire.reply(json_reply({}, 503), json_reply({"id": 42}))
        async with HeymarketClient(API_KEY, base_url=wire.url) as hm:
            FakeTime().install(hm)
            await hm.get_contact(42)
        assert printed == []
        handlers = logging.getLogger("heymarket_async").handlers
        assert any(isinstance(handler, logging.NullHandler) for handler in handlers)

    async def test_an_app_that_configured_logging_still_sees_the_retries(
        self, wire: WireServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING)  # a handler on the root logger, as basicConfig makes
        wire.reply(json_reply({}, 503), json_reply({"id": 42}))
        async with HeymarketClient(API_KEY, base_url=wire.url) as hm:
            FakeTime().install(hm)
            await hm.get_contact(42)
        assert [r.name for r in caplog.records] == ["heymarket_async"]
        assert caplog.records[0].getMessage().startswith("retrying GET /v1/contact/42 in ")
