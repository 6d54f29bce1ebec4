"""The contact fields that every create, update, batch item and upsert takes: one definition.

``ContactFields`` types the keyword arguments (``**fields: Unpack[ContactFields]``) and
:func:`contact_fields_signature` gives those methods their explicit keyword-only signature,
so that ``help()``, IDEs and ``inspect`` show every field (after stripe-python's params).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final, ForwardRef, TypedDict, TypeVar

from .models import UNSET, Tag

CustomValues = Mapping[int | str, str | int | date | datetime]
TagValues = Iterable[int | Tag | Mapping[str, int]]


class ContactFields(TypedDict, total=False):
    """The optional fields of a contact; ``None`` clears one, a field left out is not sent.

    ``custom`` maps numeric field ids to strings, ints or dates; ``tags`` are at most five ids,
    :class:`Tag` or ``{"tag_id": N}`` (as the docs write them); ``assignee_id`` is a user id or
    ``UNASSIGN``.
    """

    first: str | None
    last: str | None
    display_name: str | None
    email: str | None
    custom: CustomValues | None
    avatar: str | None
    assignee_id: int | None
    tags: TagValues | None
    is_opted_out: bool | None


#: The names of :class:`ContactFields`, in the order signatures show them.
CONTACT_FIELDS: Final = tuple(ContactFields.__annotations__)

F = TypeVar("F", bound=Callable[..., Any])


def contact_fields_signature(method: F) -> F:
    """Show ``**fields: Unpack[ContactFields]`` as one keyword-only parameter per field (each
    defaulting to ``UNSET``), before the method's other keyword-only options."""
    signature = inspect.signature(method)
    params = list(signature.parameters.values())
    kinds = inspect.Parameter
    head = [p for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
    options = [p for p in params if p.kind is kinds.KEYWORD_ONLY]
    fields = [
        kinds(name, kinds.KEYWORD_ONLY, default=UNSET, annotation=f"{_text(hint)} | UnsetType")
        for name, hint in ContactFields.__annotations__.items()
    ]
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*head, *fields, *options]
    )
    return method


def _text(hint: object) -> str:
    """An annotation as written: TypedDict keeps a postponed one as a ``ForwardRef``."""
    return hint.__forward_arg__ if isinstance(hint, ForwardRef) else str(hint)


def given_fields(method: str, fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """``fields`` as given to ``method``; a name that is no contact field is a ``TypeError``,
    as it would be for a method with those keyword arguments written out."""
    for name in fields:
        if name not in ContactFields.__annotations__:
            raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")
    # In one order whatever the caller's, so that the first bad field is always the same one.
    return {name: fields[name] for name in CONTACT_FIELDS if name in fields}
