"""The v1 custom contact field endpoints: the ids that ``custom`` keys use."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from heymarket_async import _validate as check
from heymarket_async._bulk import ERROR_KEYS, OK_WORDS
from heymarket_async._convert import StructureError, structure_fields
from heymarket_async._sansio import Endpoint, Safety
from heymarket_async.models import ContactField
from heymarket_async.resources._base import Resource

LIST = Endpoint("POST", "/v1/contact-fields", Safety.READ)
CREATE = Endpoint("POST", "/v1/contacts/fields", Safety.ONCE, effect="fields may have been created")


class V1ContactFields(Resource):
    """The team's custom contact fields."""

    async def list_contact_fields(self) -> list[ContactField]:
        """The team's custom contact fields, with the numeric ids that ``custom`` keys use."""
        # The docs send no body, but aiohttp labels an empty POST "application/octet-stream";
        # an empty JSON object says the same thing in the API's own content type.
        return await self._call(LIST.request(json={}), structure_fields)

    async def create_contact_fields(self, titles: Iterable[str]) -> list[ContactField]:
        """Define new custom contact fields (``POST /v1/contacts/fields``, ``[{"title": ...}]``).

        Returns the fields the API answers with (their ids are the keys of ``custom``), or an
        empty list when it answers without them: :meth:`list_contact_fields` then has the ids.
        Never sent twice, like a create.
        """
        body = check.field_titles(titles)
        return await self._call(CREATE.request(json=body), _created_fields)


def _created_fields(data: Any) -> list[ContactField]:
    if data is None or (isinstance(data, str) and data.strip().lower() in OK_WORDS):
        return []  # "ok", "success": created, ids not given
    if isinstance(data, str) or (
        isinstance(data, Mapping)
        and "fields" not in data
        and "contact_fields" not in data
        and any(data.get(key) for key in ERROR_KEYS)
    ):
        raise StructureError("fields", f"an answer that reads as an error: {data!r:.200}")
    return structure_fields(data)
