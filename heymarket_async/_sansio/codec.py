"""JSON encoding and decoding: orjson when the ``fast`` extra is installed, else the stdlib."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

_std_decode = json.JSONDecoder().decode
_std_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: The C encoder that ``JSONEncoder.encode`` builds on every call, behind two calls of Python:
#: made here directly (still one per call, for its own circular-reference check), it costs a
#: request body about half as much.
_make_encoder = getattr(json.encoder, "c_make_encoder", None)


def _std_encode(obj: Any) -> str:
    if _make_encoder is None:  # pragma: no cover - CPython always has _json
        return _std_encoder.encode(obj)
    encode = _make_encoder(
        {}, _std_encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )
    return "".join(encode(obj, 0))


def std_json_loads(data: bytes | str) -> Any:
    """``json.loads`` for bytes or text: the decoder used when orjson is not installed."""
    return _std_decode(data.decode("utf-8") if isinstance(data, bytes) else data)


def std_json_dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON: the encoder used when orjson is not installed."""
    return _std_encode(obj).encode("utf-8")


json_loads: Callable[[bytes | str], Any] = std_json_loads
json_dumps: Callable[[Any], bytes] = std_json_dumps
try:  # orjson is optional (the [fast] extra): about three times faster on a page of contacts.
    import orjson
except ImportError:  # pragma: no cover - depends on what is installed
    pass
else:
    _orjson_loads = orjson.loads

    def orjson_loads(data: bytes | str) -> Any:
        """``orjson.loads``, and ``json.loads`` for what orjson alone refuses.

        orjson rejects a lone surrogate escape (``"\\ud800"``), which JSON allows and the
        standard decoder reads: with or without the extra, a body decodes the same.
        """
        try:
            return _orjson_loads(data)
        except orjson.JSONDecodeError:
            return std_json_loads(data)

    json_loads = orjson_loads
    json_dumps = orjson.dumps

#: What json and orjson raise for a body that is not JSON (both subclass ValueError; invalid
#: UTF-8 raises UnicodeDecodeError, a ValueError too). The stdlib decoder raises RecursionError
#: for a deeply nested body, which is just as undecodable.
JSONDecodeError: Final = (ValueError, RecursionError)
