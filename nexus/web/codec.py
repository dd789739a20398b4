"""JSON on the wire through msgspec: exact money as decimal strings, typed decoding.

``Decimal``, :class:`~nexus.money.Fixed` and :class:`~nexus.money.Money` are encoded as JSON
strings (``"101.25"``) and decoded from strings only, so no float ever carries a price.
Encoders and per-type decoders are built once and reused.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from nexus.money import Fixed, FixedPointError, Money

T = TypeVar("T")

#: JSON Schema of a Fixed as a decimal string: at most 10 integer digits and 9 places, and
#: |value| <= 9223372036.854775807 (the int64 raw); enforced by :func:`dec_hook` as written.
FIXED_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^-?[0-9]{1,10}(\.[0-9]{1,9})?$",
    "maxLength": 21,
    "examples": ["101.25"],
}
#: JSON Schema of a Money as a decimal string (at most 20 integer digits, 9 places).
MONEY_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^-?[0-9]{1,20}(\.[0-9]{1,9})?$",
    "maxLength": 31,
    "examples": ["1250000.50"],
}
_PATTERNS: dict[type, re.Pattern[str]] = {
    Fixed: re.compile(FIXED_SCHEMA["pattern"], re.ASCII),
    Money: re.compile(MONEY_SCHEMA["pattern"], re.ASCII),
}


def enc_hook(obj: Any) -> Any:
    """Encode the exact money types as decimal strings."""
    if isinstance(obj, Fixed | Money):
        return str(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__} as JSON")


def dec_hook(type_: type, obj: Any) -> Any:
    """Decode exact money types from decimal strings matching the documented pattern.

    Numbers, exponents, ``NaN``, over-long or out-of-range text are refused with a
    ``ValueError`` (which msgspec reports as a validation error naming the field, a 422):
    a ``FixedPointOverflowError`` must never escape the decoder as a 500.
    """
    if type_ is Fixed or type_ is Money:
        if not isinstance(obj, str):
            raise ValueError(f"Expected a decimal string for {type_.__name__}")
        pattern = _PATTERNS[type_]
        if len(obj) > 40 or pattern.match(obj) is None:
            shown = obj if len(obj) <= 40 else obj[:40] + "..."
            raise ValueError(f"Expected a decimal string matching {pattern.pattern}, got {shown!r}")
        try:
            return type_(obj)
        except FixedPointError as exc:
            raise ValueError(str(exc)) from None
    raise NotImplementedError(f"cannot decode {type_.__name__}")


def schema_hook(type_: type) -> dict[str, Any]:
    """JSON Schema of the exact money types (decimal strings)."""
    if type_ is Fixed:
        return dict(FIXED_SCHEMA)
    if type_ is Money:
        return dict(MONEY_SCHEMA)
    raise NotImplementedError(f"no JSON schema for {type_.__name__}")


ENCODER = msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="string")
_ANY_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(dec_hook=dec_hook)
_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def encode_json(obj: Any) -> bytes:
    """Encode ``obj`` (Structs, dicts, lists, Decimal, Fixed, Money, ...) as JSON bytes."""
    return ENCODER.encode(obj)


def decoder_for(type_: type[T]) -> msgspec.json.Decoder[T]:
    """The cached JSON decoder of ``type_``."""
    dec = _DECODERS.get(type_)
    if dec is None:
        dec = msgspec.json.Decoder(type_, dec_hook=dec_hook)
        _DECODERS[type_] = dec
    return dec


def decode_json(data: bytes | str, type_: type[T] | None = None) -> T | Any:
    """Decode JSON into ``type_`` (or plain Python objects); raises ``msgspec`` errors."""
    if type_ is None:
        return _ANY_DECODER.decode(data)
    return decoder_for(type_).decode(data)


def convert(obj: Any, type_: type[T], *, strict: bool = True) -> T:
    """Convert already-parsed data (e.g. query strings when ``strict=False``) into ``type_``."""
    return msgspec.convert(obj, type_, strict=strict, dec_hook=dec_hook)


def to_builtins(obj: Any) -> Any:
    """Plain JSON-compatible builtins of ``obj`` (money as decimal strings)."""
    return msgspec.to_builtins(obj, enc_hook=enc_hook)
