"""The checks every other one builds on: ints in the API's range, text JSON can carry, bounds.

``_int``, ``_text``, ``_decimal``, ``_optional_str`` and ``_take`` are shared by the sibling
modules only; ``bounded_int`` and ``boolean`` are part of ``check``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Final, TypeVar

from heymarket_async.errors import InvalidRequestError

T = TypeVar("T")

#: The largest int a request may carry: the API's ids are 64-bit signed integers (orjson cannot
#: even write an int of 2**64 or more, and the stdlib encoder would send it to be refused).
MAX_INT: Final = 2**63 - 1
V2_MAX_LIMIT: Final = 100
#: The most items read from a list the API gives no maximum for and that is short by nature (a
#: contact's channels, new custom field titles): only so that an endless iterable is refused
#: instead of read until the memory runs out.
MAX_SHORT_LIST: Final = 1000


def _take(value: Iterable[T], most: int) -> list[T]:
    """The items of ``value``, reading at most ``most + 1``: more than ``most`` means too many
    (or an endless iterable), which the caller refuses."""
    return list(itertools.islice(value, most + 1))


def _int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(field, f"must be an int, not {type(value).__name__}")
    if not -MAX_INT - 1 <= value <= MAX_INT:
        raise InvalidRequestError(field, "is out of range: the API takes ints up to 2**63 - 1")
    return value


def _text(value: str, field: str) -> str:
    """``value``, once it is known to have a UTF-8 form (which JSON needs)."""
    if not value.isascii():  # the common case costs one scan
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidRequestError(
                field,
                f"holds {value[exc.start]!r} at index {exc.start}, which has no UTF-8 form "
                "(a lone surrogate, as errors='surrogateescape' leaves): it cannot be sent",
            ) from None
    return value


def _decimal(value: int, field: str) -> str:
    """An int as its decimal digits; past Python's limit on int to str (4300 digits), bad input."""
    try:
        return str(int(value))  # int() first: str() of an IntEnum member is its name on 3.10
    except ValueError:
        raise InvalidRequestError(field, "is an int too long to write out") from None


def _optional_str(value: object, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return _text(value, field)
    raise InvalidRequestError(field, f"must be a str, not {type(value).__name__}")


def bounded_int(value: object, field: str, low: int, high: int | None = None) -> int:
    number = _int(value, field)
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidRequestError(field, f"must be {bound}, got {number}")
    return number


def boolean(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(field, f"must be a bool, not {type(value).__name__}")
    return value
