"""Masking of customer data (phone numbers, email addresses) and credentials in error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A bare run of 8-15 digits (E.164 without "+", or with it), or a number written the North
# American way: "+1 (510) 555-3344", "510.555.3344". Dates ("2026-05-07") match neither, and a
# run joined to letters or hyphens is part of an id (a UUID such as "12345678-1234-...", a
# request id), not a phone number.
_PHONE: Final = re.compile(
    r"(?<![\w-])\+?\d{8,15}(?![\w-])"
    r"|(?<![\w-])(?:\+?\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}(?![\w-])"
)
# A JWT (header.payload.signature, base64url; the header always starts '{"' = "eyJ").
_JWT: Final = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]+")
#: Secrets shorter than this are not searched for: they would mask ordinary words.
_MIN_SECRET: Final = 6


def _mask_phone(match: re.Match[str]) -> str:
    digits = [c for c in match.group(0) if c.isdigit()]
    return "*" * (len(digits) - 2) + "".join(digits[-2:])


def _mask_email(match: re.Match[str]) -> str:
    local, _, domain = match.group(0).partition("@")
    return f"{local[:1]}***@{domain}"


def mask(text: str, secrets: Iterable[str] = (), *, keep_pii: bool = False) -> str:
    """``text`` with phone numbers reduced to their last two digits, email local parts hidden,
    and any JWT or any of ``secrets`` (an API key a server echoed back) replaced by ``***``.

    ``keep_pii=True`` (``HeymarketClient(log_pii=True)``, for debugging) leaves phone numbers and
    emails as they are; secrets and JWTs are replaced all the same.
    """
    for secret in secrets:
        if len(secret) >= _MIN_SECRET:
            text = text.replace(secret, "***")
    text = _JWT.sub("***", text)
    if keep_pii:
        return text
    return _PHONE.sub(_mask_phone, _EMAIL.sub(_mask_email, text))
