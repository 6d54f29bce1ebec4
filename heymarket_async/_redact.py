"""Masking of customer data (phone numbers, email addresses) in log lines and error messages."""

from __future__ import annotations

import re
from typing import Final

_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A bare run of 8-15 digits (E.164 without "+", or with it), or a number written the North
# American way: "+1 (510) 555-3344", "510.555.3344". Dates ("2026-05-07") match neither.
_PHONE: Final = re.compile(
    r"(?<![\w])\+?\d{8,15}(?![\w])"
    r"|(?<![\w])(?:\+?\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}(?![\w])"
)


def _mask_phone(match: re.Match[str]) -> str:
    digits = [c for c in match.group(0) if c.isdigit()]
    return "*" * (len(digits) - 2) + "".join(digits[-2:])


def _mask_email(match: re.Match[str]) -> str:
    local, _, domain = match.group(0).partition("@")
    return f"{local[:1]}***@{domain}"


def mask(text: str) -> str:
    """``text`` with phone numbers reduced to their last two digits and email local parts hidden."""
    return _PHONE.sub(_mask_phone, _EMAIL.sub(_mask_email, text))


# Three base64url parts, the first a JSON object ("eyJ" is base64 for '{"'): any JWT, ours or not.
_JWT: Final = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*")


def scrub_secrets(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with each of ``secrets`` and anything shaped like a JWT replaced by ``***``."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, "***")
    return _JWT.sub("***", text)
