"""Event rows to msgpack frames, byte-identical to msgspec's encoding of :mod:`nexus.events`.

The templates are derived from the event Structs themselves (field order, tag, constant
defaults), so a schema change flows into the simulator's encoding; a test checks the frames
against ``EventCodec.encode`` byte for byte. A frame is a 4-byte big-endian length then one
msgpack event, the payload a Kafka producer would send.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from typing import Any, Final

import msgspec
import numpy as np
import numpy.typing as npt

from nexus.events import (
    ANY_CODEC,
    OrderAmend,
    OrderCancel,
    OrderExpire,
    OrderFill,
    OrderNew,
    Trade,
)
from nexus.sim import framing as kn

_ENC: Final = msgspec.msgpack.Encoder()
FRAME_HEADER: Final = struct.Struct(">I")
MAX_EVENT_BYTES: Final = 768


class Const:
    """A field written as this fixed value (instead of a slot or the field's default)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


_COMMON: dict[str, int | Const] = {
    "event_id": kn.SL_EVENT_ID,
    "ts_event": kn.SL_TS,
    "symbol": kn.SL_SYMBOL,
    "order_id": kn.SL_ORDER_H1,
    "user_id": kn.SL_USER_H1,
    "account_id": kn.SL_ACCOUNT_H1,
    "side": kn.SL_SIDE,
    "price": kn.SL_PRICE,
}
#: Per event kind (row order of layout.KIND_NAMES): the Struct and its field -> slot map;
#: fields not mapped are written as their default value.
KIND_SCHEMAS: Final[tuple[tuple[type[msgspec.Struct], dict[str, int | Const]], ...]] = (
    (
        OrderNew,
        {
            **_COMMON,
            "order_type": Const("LIMIT"),
            "time_in_force": kn.SL_TIF,
            "quantity": kn.SL_QTY,
            "post_only": kn.SL_FLAG,
        },
    ),
    (
        OrderAmend,
        {
            **_COMMON,
            "quantity": kn.SL_QTY,
            "old_price": kn.SL_AUX1,
            "old_quantity": kn.SL_AUX2,
            "keeps_priority": kn.SL_FLAG,
        },
    ),
    (OrderCancel, {**_COMMON, "cancelled_quantity": kn.SL_QTY}),
    (OrderExpire, {**_COMMON, "expired_quantity": kn.SL_QTY}),
    (
        Trade,
        {
            "event_id": kn.SL_EVENT_ID,
            "ts_event": kn.SL_TS,
            "symbol": kn.SL_SYMBOL,
            "price": kn.SL_PRICE,
            "quantity": kn.SL_QTY,
            "aggressor_side": kn.SL_SIDE,
            "buy_order_id": kn.SL_ORDER_H1,
            "sell_order_id": kn.SL_ORDER_H2,
            "buyer_user_id": kn.SL_USER_H1,
            "buyer_account_id": kn.SL_ACCOUNT_H1,
            "seller_user_id": kn.SL_USER_H2,
            "seller_account_id": kn.SL_ACCOUNT_H2,
        },
    ),
    (
        OrderFill,
        {
            **_COMMON,
            "trade_id": kn.SL_TRADE_ID,
            "quantity": kn.SL_QTY,
            "leaves_quantity": kn.SL_AUX1,
            "aggressor": kn.SL_FLAG,
        },
    ),
)
SIDES: Final = ("BUY", "SELL")
TIFS: Final = ("GTC", "DAY", "IOC", "FOK")


def _program(
    cls: type[msgspec.Struct], slots: dict[str, int | Const], venue: str
) -> list[tuple[int, bytes | int]]:
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    fields = info.fields
    entries = {str(i): 0 for i in range(len(fields) + 1)}
    body = sum(len(_ENC.encode(key)) + 1 for key in entries)
    map_header = _ENC.encode(entries)[:-body]  # what precedes the first key
    steps: list[tuple[int, bytes | int]] = []
    lit = bytearray(map_header)
    lit += _ENC.encode(info.tag_field) + _ENC.encode(info.tag)
    missing = set(slots) - {f.encode_name for f in fields}
    if missing:
        raise TypeError(f"{cls.__name__} has no fields {sorted(missing)}")
    for f in fields:
        lit += _ENC.encode(f.encode_name)
        slot = Const(venue) if f.encode_name == "venue" else slots.get(f.encode_name)
        if isinstance(slot, int):
            steps.append((kn.OPC_LIT, bytes(lit)))
            steps.append((kn.OPC_SLOT, slot))
            lit = bytearray()
        elif isinstance(slot, Const):
            lit += _ENC.encode(slot.value)
        else:
            lit += _ENC.encode(f.default)
    if lit:
        steps.append((kn.OPC_LIT, bytes(lit)))
    return steps


def _table(blobs: Sequence[bytes]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    data = np.frombuffer(b"".join(blobs), dtype=np.uint8).copy()
    return data, offsets


class FrameEncoder:
    """Encodes event rows of one run (its symbols, users, accounts, id prefix) into frames."""

    def __init__(
        self,
        symbols: Sequence[str],
        user_ids: Sequence[str],
        account_ids: Sequence[str],
        user_of_account: Sequence[int],
        id_prefix: str = "",
        venue: str = "NEXUS",
    ) -> None:
        literals: list[bytes] = []
        program: list[int] = []
        offsets = [0]
        for cls, slots in KIND_SCHEMAS:
            for opc, arg in _program(cls, slots, venue):
                if opc == kn.OPC_LIT:
                    assert isinstance(arg, bytes)
                    literals.append(arg)
                    program += [opc, len(literals) - 1]
                else:
                    assert isinstance(arg, int)
                    program += [opc, arg]
            offsets.append(len(program))
        self._programs = np.array(program, dtype=np.int64)
        self._program_offsets = np.array(offsets, dtype=np.int64)
        self._literals, self._literal_offsets = _table(literals)
        groups = [symbols, user_ids, account_ids, SIDES, TIFS]
        blobs = [_ENC.encode(s) for g in groups for s in g]
        self._strings, self._string_offsets = _table(blobs)
        self._string_base = np.cumsum([0] + [len(g) for g in groups[:-1]]).astype(np.int64)
        self._user_of_account = np.asarray(user_of_account, dtype=np.int64)
        self._prefix = np.frombuffer(id_prefix.encode(), dtype=np.uint8).copy()
        self._venue = np.frombuffer(venue.encode(), dtype=np.uint8).copy()
        self._raw_symbols, self._raw_symbol_offsets = _table([s.encode() for s in symbols])
        self.symbols = list(symbols)
        self.id_prefix = id_prefix
        self.venue = venue
        self._bufs: dict[int, npt.NDArray[np.uint8]] = {}

    def encode(
        self,
        events: npt.NDArray[np.int64],
        order: npt.NDArray[np.int64],
        lo: int,
        hi: int,
        account_of: npt.NDArray[np.int64],
        seq_base: npt.NDArray[np.int64],
        slot: int = 0,
    ) -> tuple[memoryview, npt.NDArray[np.int64]]:
        """Frames of rows ``order[lo:hi]`` and their start offsets (``hi - lo + 1`` entries).

        Event ids are ``venue:symbol:n`` with ``n = seq_base[symbol] + E_SEQ + 1``. The returned
        view is valid until the next call with the same ``slot`` (one reused buffer per slot, so
        a caller can write one chunk while the next is encoded).
        """
        n = hi - lo
        need = n * MAX_EVENT_BYTES
        buf = self._bufs.get(slot)
        if buf is None or len(buf) < need:
            buf = self._bufs[slot] = np.empty(need, dtype=np.uint8)
        starts = np.empty(n + 1, dtype=np.int64)
        size = kn.encode_frames(
            events,
            order,
            lo,
            hi,
            seq_base,
            self._programs,
            self._program_offsets,
            self._literals,
            self._literal_offsets,
            self._strings,
            self._string_offsets,
            self._string_base,
            account_of,
            self._user_of_account,
            self._prefix,
            self._venue,
            self._raw_symbols,
            self._raw_symbol_offsets,
            buf,
            starts,
        )
        starts[n] = size
        return buf.data[:size], starts

    def event_id(self, symbol: int, seq: int) -> str:
        """The id of the event with per-symbol sequence ``seq`` (``E_SEQ`` + base + 1)."""
        return f"{self.venue}:{self.symbols[symbol]}:{seq}"

    def order_id(self, handle: int) -> str:
        """The order id of an order handle."""
        return f"{self.id_prefix}O{handle}"


def iter_frames(data: bytes | memoryview) -> Iterator[memoryview]:
    """The payloads of a length-prefixed frame stream; raises ValueError if truncated."""
    view = memoryview(data)
    pos, end = 0, len(view)
    while pos < end:
        if pos + 4 > end:
            raise ValueError(f"truncated frame header at byte {pos}")
        (n,) = FRAME_HEADER.unpack_from(view, pos)
        pos += 4
        if pos + n > end:
            raise ValueError(f"truncated frame at byte {pos - 4}")
        yield view[pos : pos + n]
        pos += n


def read_events(data: bytes | memoryview) -> Iterator[Any]:
    """Decode (and validate) every event of a frame stream with the shared codec."""
    for frame in iter_frames(data):
        yield ANY_CODEC.decode(bytes(frame))
