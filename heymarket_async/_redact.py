"""Masking of customer data (phone numbers, email addresses) and credentials in error messages,
and :func:`scrub_error`, which passes an error and every exception it chains through it."""

from __future__ import annotations

import contextlib
import re
import weakref
from collections.abc import Callable, Iterable
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
# What comes just before a number that names a contact, tag or field, not a phone: a path
# segment ("/v1/contact/99999999"), or a word saying so ("contact 99999999 not found",
# "id: 12345678", '"id": 12345678', "contact_id=12345678"). Ids are not personal. Only a run
# shorter than a phone number with its area code is taken for an id (_ID_DIGITS): "contact
# 15105553344 refused" from a server speaks of a phone.
_ID_BEFORE: Final = re.compile(
    r"(?:/|\b(?:contacts?|ids?|tags?|fields?|revs?|(?:contact|tag|field)_id)"
    r"[\"']?\s*[:=#]?\s*[\"']?)\Z",
    re.IGNORECASE,
)
_ID_DIGITS: Final = 9  # the longest run named as an id that is kept
_ID_CONTEXT: Final = 24  # how many characters before a number are looked at
# A JWT (header.payload.signature, base64url; the header always starts '{"' = "eyJ").
_JWT: Final = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]+")
_NOT_BASE64URL: Final = re.compile(r"[^\w-]")
#: Secrets shorter than this are not searched for: they would mask ordinary words.
_MIN_SECRET: Final = 6


def _mask_phone(match: re.Match[str]) -> str:
    number = match.group(0)
    if number.isdigit() and len(number) <= _ID_DIGITS:  # a bare run: maybe an id
        start = match.start()
        if _ID_BEFORE.search(match.string[max(0, start - _ID_CONTEXT) : start]):
            return number
    digits = [c for c in number if c.isdigit()]
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

    A phone number is a run of 8 to 15 digits (with or without "+") or a number written the
    North American way, except a bare run of 8 or 9 digits named as an id (after "contact ",
    "id: ", "/"...): ids are not personal. Ten digits or more always read as a phone (a
    national number with its area code). Masking twice changes nothing.

    ``keep_pii=True`` (``HeymarketClient(log_pii=True)``, for debugging) leaves phone numbers and
    emails as they are; secrets and JWTs are replaced all the same.
    """
    text = replace_secrets(text, secrets)
    if "eyJ" in text:
        text = _mask_jwts(text)
    if keep_pii:
        return text
    return _PHONE.sub(_mask_phone, _mask_emails(text))


def replace_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` replaced by ``***`` (and nothing else masked)."""
    for secret in secrets:
        if len(secret) >= _MIN_SECRET:
            text = text.replace(secret, "***")
    return text


def mask_data(data: Any, secrets: Iterable[str] = (), *, keep_pii: bool = False) -> Any:
    """A copy of decoded JSON ``data`` with every string in it (keys too) passed through
    :func:`mask`; dicts and lists keep their shape, other values are kept as they are.

    Walked without recursion, so no nesting depth raises ``RecursionError``.
    """
    secrets = tuple(secrets)
    return map_strings(data, lambda text: mask(text, secrets, keep_pii=keep_pii))


def map_strings(data: Any, change: Callable[[str], str]) -> Any:
    """A copy of decoded JSON ``data`` with ``change`` applied to every string (keys too),
    walked without recursion."""
    pending: list[tuple[Any, Any]] = []

    def copy(value: Any) -> Any:
        if isinstance(value, str):
            return change(value)
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


# -- errors ---------------------------------------------------------------------------------

#: Attributes that keep the server's words as sent, customer data included (for debugging):
#: only credentials are taken out of them (``raw``).
_RAW_ATTRIBUTES: Final = frozenset({"text", "body"})
#: The raw attribute values already masked, by error: a body of megabytes is walked once, not
#: again at every scrub of the same error (every SDK error supports weak references).
_RAW_DONE: weakref.WeakKeyDictionary[BaseException, dict[str, Any]] = weakref.WeakKeyDictionary()


def raw_masked(exc: BaseException) -> None:
    """Record that ``exc``'s ``text`` and ``body`` already had the credentials masked (as the
    answer was read), so that :func:`scrub_error` does not walk them again."""
    state = getattr(exc, "__dict__", {})
    with contextlib.suppress(TypeError):  # an exception without weak references
        _RAW_DONE[exc] = {n: state[n] for n in _RAW_ATTRIBUTES if n in state}


class RedactedError(Exception):
    """Stands in, in an error's chain, for an exception whose text could not be scrubbed in
    place: it says what the exception was (its type) and its scrubbed text, and keeps its
    traceback and its own links."""


def scrub_error(
    exc: BaseException,
    scrub: Callable[[str], str],
    *,
    raw: Callable[[str], str] | None = None,
) -> None:
    """Pass ``exc``, and every exception it chains, through ``scrub``, in place.

    Each exception linked from it (``__cause__``, ``__context__``, the members of an exception
    group, and so on down) has its ``args``, notes and string attributes scrubbed, so that
    neither ``str``, ``repr`` nor the traceback ``logger.exception`` prints shows what
    ``scrub`` masks. ``text`` and ``body`` (the raw answer) go through ``raw`` instead, when
    given. A linked exception that still shows something after that (its text is not made
    from its ``args``) is replaced in the chain by a :class:`RedactedError`. Walked without
    recursion; a cycle ends.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        _scrub_in_place(current, scrub, raw)
        for name in ("__cause__", "__context__"):
            link: BaseException | None = getattr(current, name)
            if link is None or id(link) in seen:
                continue
            _scrub_in_place(link, scrub, raw)
            for member in _all_members(link):  # a group's text is made from its members
                _scrub_in_place(member, scrub, raw)
            if not _shows_nothing(link, scrub):
                link = _stand_in(link, scrub)
                suppress = current.__suppress_context__
                setattr(current, name, link)
                current.__suppress_context__ = suppress  # setting __cause__ sets it
            todo.append(link)
        todo.extend(_members(current))


def _members(exc: BaseException) -> list[BaseException]:
    """The exceptions of an exception group (the builtin one, or the 3.10 backport)."""
    members = getattr(exc, "exceptions", None)
    if isinstance(members, tuple):
        return [e for e in members if isinstance(e, BaseException)]
    return []


def _all_members(exc: BaseException) -> list[BaseException]:
    """The members of a group, of the groups among them, and so on."""
    out: dict[int, BaseException] = {}
    todo = _members(exc)
    while todo:
        member = todo.pop()
        if id(member) not in out:
            out[id(member)] = member
            todo.extend(_members(member))
    return list(out.values())


def _scrub_in_place(
    exc: BaseException, scrub: Callable[[str], str], raw: Callable[[str], str] | None
) -> None:
    if not _members(exc):  # a group's args are its message and members: left as they are
        args = tuple(_scrub_arg(arg, scrub) for arg in exc.args)
        if args != exc.args:
            exc.args = args
    state = getattr(exc, "__dict__", None)
    if state is None:
        return
    raw_done = False
    for name, value in list(state.items()):
        if name == "__notes__" and isinstance(value, list):
            state[name] = [scrub(n) if isinstance(n, str) else n for n in value]
        elif name.startswith("__"):
            continue
        elif name in _RAW_ATTRIBUTES:
            if raw is not None and not _raw_done(exc, name, value):
                state[name] = map_strings(value, raw)
                raw_done = True
        elif isinstance(value, str):
            state[name] = scrub(value)
    if raw_done:
        raw_masked(exc)


def _raw_done(exc: BaseException, name: str, value: object) -> bool:
    """Whether ``value`` is what ``exc.<name>`` held when its credentials were masked."""
    try:
        done = _RAW_DONE.get(exc)
    except TypeError:  # pragma: no cover - an exception without weak references
        return False
    return done is not None and name in done and done[name] is value


def _scrub_arg(arg: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(arg, str):
        return scrub(arg)
    if isinstance(arg, (int, float, bool)) or arg is None:
        return arg
    text = _safe_repr(arg)
    masked = scrub(text)
    return arg if masked == text else masked  # a value that showed something: its masked repr


def _shows_nothing(exc: BaseException, scrub: Callable[[str], str]) -> bool:
    texts = [_safe_str(exc), _safe_repr(exc)]
    if not all(scrub(text) == text for text in texts):
        return False
    return all(_shows_nothing(member, scrub) for member in _members(exc))


def _stand_in(exc: BaseException, scrub: Callable[[str], str]) -> RedactedError:
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    stand_in = RedactedError(f"{name}: {scrub(_safe_str(exc))}")
    stand_in.__traceback__ = exc.__traceback__
    stand_in.__cause__ = exc.__cause__
    stand_in.__context__ = exc.__context__
    stand_in.__suppress_context__ = exc.__suppress_context__
    notes = [scrub(n) for n in getattr(exc, "__notes__", ()) if isinstance(n, str)]
    notes += [f"{type(m).__qualname__}: {scrub(_safe_str(m))}" for m in _members(exc)]
    if notes:
        stand_in.__notes__ = notes  # type: ignore[attr-defined]  # add_note, on 3.10 too
    return stand_in


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # a broken __str__ shows nothing
        return f"<{type(value).__qualname__}>"


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__qualname__}>"
