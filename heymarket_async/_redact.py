"""Masking of customer data (phone numbers, email addresses) and credentials in error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

# What an email address is; found by _mask_emails, which gives the matches of
# _EMAIL.finditer without its quadratic scans.
_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_EMAIL_DOMAIN: Final = re.compile(r"[\w-]+(?:\.[\w-]+)+")
_LOCAL_RUN: Final = re.compile(r"[\w.+-]*")
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
_NOT_BASE64URL: Final = re.compile(r"[^\w-]")
#: Secrets shorter than this are not searched for: they would mask ordinary words.
_MIN_SECRET: Final = 6


def _mask_phone(match: re.Match[str]) -> str:
    digits = [c for c in match.group(0) if c.isdigit()]
    return "*" * (len(digits) - 2) + "".join(digits[-2:])


def _mask_emails(text: str) -> str:
    """``_EMAIL.sub`` with the local part hidden but its first character, in linear time.

    ``re`` tries the pattern at every character of a run of address characters, and each try
    scans to the run's end: quadratic, seconds for a message of 30,000 letters. Every address
    has an "@", so this starts from each "@" instead: the local part is the run of address
    characters before it (back to the previous "@" or the end of the previous match, as
    ``finditer`` would have it), the domain is matched after it.
    """
    at = text.find("@")
    if at < 0:
        return text
    out: list[str] = []
    done = 0  # text[:done] is in out
    lo = 0  # where the local part before ``at`` may start
    while at >= 0:
        run = _LOCAL_RUN.match(text[lo:at][::-1])
        local = run.end() if run is not None else 0
        domain = _EMAIL_DOMAIN.match(text, at + 1) if local else None
        if domain is None:
            lo = at + 1
        else:
            start = at - local
            out.append(text[done:start])
            out.append(f"{text[start]}***@{domain.group()}")
            done = lo = domain.end()
        at = text.find("@", lo)
    out.append(text[done:])
    return "".join(out)


def _mask_jwts(text: str) -> str:
    """``_JWT.sub("***", text)`` in linear time.

    ``re.sub`` tries the pattern at every "eyJ" of a run of base64url characters, and each try
    scans to the run's end: quadratic, so that a body of "eyJeyJeyJ..." would hold the event
    loop for minutes. Every try in one run stops at the same character, so when the first fails
    the rest of the run is skipped.
    """
    parts: list[str] = []
    done = 0  # text[:done] is in parts
    start = text.find("eyJ")
    while start >= 0:
        match = _JWT.match(text, start)
        if match is None:
            stop = _NOT_BASE64URL.search(text, start)
            end = len(text) if stop is None else stop.start()
        else:
            parts.append(text[done:start])
            parts.append("***")
            done = end = match.end()
        start = text.find("eyJ", end)
    parts.append(text[done:])
    return "".join(parts)


def mask(text: str, secrets: Iterable[str] = (), *, keep_pii: bool = False) -> str:
    """``text`` with phone numbers reduced to their last two digits, email local parts hidden,
    and any JWT or any of ``secrets`` (an API key a server echoed back) replaced by ``***``.

    ``keep_pii=True`` (``HeymarketClient(log_pii=True)``, for debugging) leaves phone numbers and
    emails as they are; secrets and JWTs are replaced all the same.
    """
    for secret in secrets:
        if len(secret) >= _MIN_SECRET:
            text = text.replace(secret, "***")
    if "eyJ" in text:
        text = _mask_jwts(text)
    if keep_pii:
        return text
    return _PHONE.sub(_mask_phone, _mask_emails(text))


def mask_data(data: Any, secrets: Iterable[str] = (), *, keep_pii: bool = False) -> Any:
    """A copy of decoded JSON ``data`` with every string in it (keys too) passed through
    :func:`mask`; dicts and lists keep their shape, other values are kept as they are.

    Walked without recursion, so no nesting depth raises ``RecursionError``.
    """
    secrets = tuple(secrets)
    pending: list[tuple[Any, Any]] = []

    def copy(value: Any) -> Any:
        if isinstance(value, str):
            return mask(value, secrets, keep_pii=keep_pii)
        if isinstance(value, (dict, list)):
            empty: Any = {} if isinstance(value, dict) else []
            pending.append((value, empty))
            return empty
        return value

    top = copy(data)
    while pending:
        source, target = pending.pop()
        if isinstance(source, dict):
            for key, value in source.items():
                target[copy(key)] = copy(value)
        else:
            target.extend([copy(value) for value in source])
    return top
