"""JSON on the wire through msgspec: exact money as decimal strings, typed decoding.

``Decimal``, :class:`~nexus.money.Fixed` and :class:`~nexus.money.Money` are encoded as JSON
strings (``"101.25"``) and decoded from strings only, so no float ever carries a price.
Encoders and per-type decoders are built once and reused.
"""

from __future__ import annotations

import decimal
from typing import Any, TypeVar

import msgspec

from nexus.money import Fixed, Money

T = TypeVar("T")

#: JSON Schema of a Fixed as a decimal string (|value| < 1e9 documented, 9 places).
FIXED_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^-?[0-9]{1,9}(\.[0-9]{1,9})?$",
    "examples": ["101.25"],
}
#: JSON Schema of a Money as a decimal string (|value| < 1e20 documented, 9 places).
MONEY_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^-?[0-9]{1,20}(\.[0-9]{1,9})?$",
    "examples": ["1250000.50"],
}


def enc_hook(obj: Any) -> Any:
    """Encode the exact money types as decimal strings."""
    if isinstance(obj, Fixed | Money):
        return str(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__} as JSON")


def dec_hook(type_: type, obj: Any) -> Any:
    """Decode exact money types from decimal strings (numbers are refused)."""
    if type_ is Fixed or type_ is Money:
        if not isinstance(obj, str):
            raise ValueError(f"Expected a decimal string for {type_.__name__}")
        return type_(obj)
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


def decimal_string(value: decimal.Decimal | Fixed | Money) -> str:
    """The boundary representation of an exact value."""
    return str(value)
