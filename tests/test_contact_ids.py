"""``Contact.id`` is an ``int``: every contact the API sends has one, and one without is a bad
response (``InvalidResponseError``, with the status, request id and body), on every path that
builds contacts: v1 and v2 reads, pages and walks, create and update answers, bulk answers.
What mypy sees is checked on ``tests/_typing_contact_ids.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from heymarket_async import BulkStatus, Contact, HeymarketClient, InvalidResponseError
from heymarket_async.testing import FakeHeymarket
from tests import _docs
from tests._server import Reply, WireServer, json_reply
from tests.conftest import MypyStrict

ROOT = Path(__file__).resolve().parent.parent
TYPING_FILE = "tests/_typing_contact_ids.py"

T0 = "2026-05-07T12:00:00.000Z"
#: A contact as the API might send it, but without an id (a bad response).
NO_ID = {"first": "Ada", "uuid": _docs.DOCS_UUID, "updated": T0}
#: The same with ids that are no integers.
BAD_IDS = [None, "abc", True, 1.5, [98765], {"v1": 98765}]

Call = Callable[[HeymarketClient], Awaitable[Any]]


def bad_reply(body: bytes) -> Reply:
    return Reply(200, body, {"Content-Type": "application/json", "X-Request-Id": "bad-id-1"})


async def expect_bad_response(wire: WireServer, client: HeymarketClient, call: Call) -> None:
    """``call`` raises InvalidResponseError for the answer queued on ``wire``, naming ``id``."""
    body = wire.replies[0].body
    with pytest.raises(InvalidResponseError, match=r"\bid\b") as info:
        await call(client)
    exc = info.value
    assert (exc.status, exc.request_id) == (200, "bad-id-1")
    assert exc.text == body.decode()
    assert "(request id bad-id-1)" in str(exc)


class TestTyping:
    def test_mypy_strict_sees_contact_id_as_an_int(self, mypy_strict: MypyStrict) -> None:
        # The file holds ``n: int = c.id`` and assert_type() calls; a ``# type: ignore`` there
        # marks a line that must stay an error (--strict reports an ignore that is not needed).
        done = mypy_strict(TYPING_FILE)
        assert done.returncode == 0, done.stdout + done.stderr


class TestTheModel:
    def test_id_is_required_to_build_one(self) -> None:
        with pytest.raises(TypeError, match="id"):
            Contact(first="Ada")  # type: ignore[call-arg]
        assert Contact(id=1, first="Ada").id == 1

    def test_the_other_fields_keep_their_defaults(self) -> None:
        contact = Contact(id=1)
        assert (contact.uuid, contact.phone, contact.updated, contact.rev) == (None,) * 4
        assert (contact.tags, contact.custom, contact.extra) == ((), {}, {})


V1_CALLS: dict[str, Call] = {
    "get_contact": lambda hm: hm.get_contact(98765),
    "get_contact_by_phone": lambda hm: hm.get_contact_by_phone("15105553344"),
}
V2_CALLS: dict[str, Call] = {
    "v2.get_contact": lambda hm: hm.v2.get_contact(_docs.DOCS_UUID),
    "v2.update_contact": lambda hm: hm.v2.update_contact(_docs.DOCS_UUID, first="Ada"),
}
PAGE_CALLS: dict[str, Call] = {
    "list_contacts": lambda hm: hm.list_contacts(),
    "v2.list_contacts": lambda hm: hm.v2.list_contacts(),
    "v2.search_contacts": lambda hm: hm.v2.search_contacts("15105553344"),
}
REF_CALLS: dict[str, Call] = {
    "create_contact": lambda hm: hm.create_contact("15105553344"),
    "update_contact": lambda hm: hm.update_contact(98765, "15105553344"),
    "v2.create_contact": lambda hm: hm.v2.create_contact([("phone", "15105553344")]),
}


class TestOneContactAnswers:
    @pytest.mark.parametrize(
        "call", [*V1_CALLS.values(), *V2_CALLS.values()], ids=[*V1_CALLS, *V2_CALLS]
    )
    async def test_a_contact_without_an_id_is_an_invalid_response(
        self, wire: WireServer, client: HeymarketClient, call: Call
    ) -> None:
        wire.reply(bad_reply(json_reply(NO_ID).body))
        await expect_bad_response(wire, client, call)

    @pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
    @pytest.mark.parametrize("call", [V1_CALLS["get_contact"], V2_CALLS["v2.get_contact"]])
    async def test_an_id_that_is_no_integer_is_an_invalid_response(
        self, wire: WireServer, client: HeymarketClient, call: Call, bad: Any
    ) -> None:
        wire.reply(bad_reply(json_reply({**NO_ID, "id": bad}).body))
        await expect_bad_response(wire, client, call)

    async def test_an_id_given_as_text_is_read(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply({"id": "98765"}))
        assert (await client.get_contact(98765)).id == 98765

    async def test_the_documented_v1_contact_has_its_id(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(Reply(200, _docs.GET_CONTACT_98765.encode()))
        contact = await client.get_contact(98765)
        assert contact.id == 98765
        assert contact.uuid is None  # the documented example has none: it stays optional


class TestPages:
    @pytest.mark.parametrize("call", PAGE_CALLS.values(), ids=list(PAGE_CALLS))
    async def test_one_contact_without_an_id_fails_the_page(
        self, wire: WireServer, client: HeymarketClient, call: Call
    ) -> None:
        wire.reply(bad_reply(json_reply([{"id": 1, "updated": T0}, NO_ID]).body))
        await expect_bad_response(wire, client, call)


WALKS: dict[str, Callable[..., Any]] = {
    "iter_contacts": lambda hm, raw: hm.iter_contacts(raw=raw),
    "v2.iter_contacts": lambda hm, raw: hm.v2.iter_contacts(raw=raw, slices=1),
    "v2.iter_contacts_by_offset": lambda hm, raw: hm.v2.iter_contacts_by_offset(
        raw=raw, prefetch=0
    ),
}


async def drain(pager: Any, into: list[Any]) -> None:
    async for item in pager:
        into.append(item)


class TestWalks:
    @pytest.mark.parametrize("walk", WALKS.values(), ids=list(WALKS))
    async def test_a_typed_walk_fails_at_the_request_that_brought_it(
        self, wire: WireServer, client: HeymarketClient, walk: Callable[..., Any]
    ) -> None:
        # The page is refused as it is read: the error names that request (its id and body),
        # and none of its contacts is handed out.
        wire.reply(bad_reply(json_reply([{"id": 1, "updated": T0}, NO_ID]).body))
        wire.default = json_reply([])
        got: list[Contact] = []
        with pytest.raises(InvalidResponseError, match="a contact without an id") as info:
            await drain(walk(client, False), got)
        assert got == []
        assert (info.value.status, info.value.request_id) == (200, "bad-id-1")
        assert '"first": "Ada"' in info.value.text

    @pytest.mark.parametrize("walk", WALKS.values(), ids=list(WALKS))
    async def test_a_raw_walk_refuses_it_too(
        self, wire: WireServer, client: HeymarketClient, walk: Callable[..., Any]
    ) -> None:
        # A raw walk tells contacts apart by id as a typed one does: two without one at a time
        # would be taken for one contact read twice, and one lost without a word.
        wire.reply(bad_reply(json_reply([{"id": 1, "updated": T0}, NO_ID, NO_ID]).body))
        wire.default = json_reply([])
        got: list[Any] = []
        with pytest.raises(InvalidResponseError, match="a contact without an id") as info:
            await drain(walk(client, True), got)
        assert got == []
        assert (info.value.status, info.value.request_id) == (200, "bad-id-1")

    async def test_a_typed_walk_reads_ids_given_as_text(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply([{"id": "7", "updated": T0}]))
        wire.default = json_reply([])
        assert [c.id async for c in client.iter_contacts()] == [7]


class TestWriteAnswers:
    @pytest.mark.parametrize("call", REF_CALLS.values(), ids=list(REF_CALLS))
    @pytest.mark.parametrize(
        "body",
        [b'{"rev": 1, "uuid": "a1b2c3d4-e5f6-7890-abcd-ef1234567890"}', b'{"id": null, "rev": 1}'],
    )
    async def test_a_reference_without_an_id_is_an_invalid_response(
        self, wire: WireServer, client: HeymarketClient, call: Call, body: bytes
    ) -> None:
        wire.reply(bad_reply(body))
        await expect_bad_response(wire, client, call)

    async def test_a_bulk_answer_with_a_contact_without_an_id_leaves_its_batch_unknown(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        # The batch was applied, but its answer cannot be read: check before sending again.
        wire.reply(bad_reply(json_reply({"contacts": [NO_ID], "failed_contacts": []}).body))
        result = await client.v2.upsert_contacts([{"channels": [("phone", "15105553344")]}])
        (item,) = result.items
        assert item.status is BulkStatus.UNKNOWN
        assert isinstance(item.error, InvalidResponseError)
        assert item.error.request_id == "bad-id-1"


class TestTheEmulator:
    async def test_every_contact_it_serves_has_an_id(self) -> None:
        async with FakeHeymarket() as fake:
            fake.seed(40)
            added = fake.add_contact(phone="15105553344", email="ada@example.com", first="Ada")
            async with fake.client() as hm:
                ref = await hm.create_contact("15105550001", first="Bo")
                v2_ref = await hm.v2.create_contact([("email", "cy@example.com")])
                contacts = [
                    await hm.get_contact(added["id"]),
                    await hm.get_contact_by_phone("15105553344"),
                    await hm.v2.get_contact(added["uuid"]),
                    await hm.v2.update_contact(v2_ref.uuid or "", first="Cy"),
                    *await hm.v2.search_contacts("ada@example.com", "15105550001"),
                    *await hm.list_contacts(),
                    *await hm.v2.list_contacts(limit=100),
                    *[c async for c in hm.iter_contacts()],
                    *[c async for c in hm.v2.iter_contacts()],
                ]
        assert all(type(c.id) is int for c in contacts)
        assert {ref.id, v2_ref.id, added["id"]} <= {c.id for c in contacts}

    async def test_a_contacts_id_and_uuid_cannot_be_changed_directly(self) -> None:
        async with FakeHeymarket() as fake:
            added = fake.add_contact(phone="15105553344")
            for key in ("id", "uuid"):
                with pytest.raises(ValueError, match=key):
                    fake.update_contact(added["id"], **{key: None})
            assert fake.contacts[added["id"]]["id"] == added["id"]
