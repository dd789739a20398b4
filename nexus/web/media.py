"""Falcon media handler for JSON through msgspec (money as decimal strings)."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.media
import msgspec

from nexus.web.codec import ENCODER, decode_json


class MsgspecJSONHandler(falcon.media.BaseHandler):
    """``req.get_media()`` / ``resp.media`` as JSON via msgspec; malformed input is a 400."""

    def __init__(self) -> None:
        self._serialize_sync = self._encode
        self._deserialize_sync = self._decode

    @staticmethod
    def _encode(media: Any, content_type: str | None = None) -> bytes:
        return ENCODER.encode(media)

    @staticmethod
    def _decode(data: bytes) -> Any:
        if not data:
            raise falcon.MediaNotFoundError("JSON")
        try:
            return decode_json(data)
        except msgspec.DecodeError as exc:
            raise falcon.MediaMalformedError("JSON") from exc

    def serialize(self, media: object, content_type: str) -> bytes:
        """Encode ``media`` as JSON bytes."""
        return ENCODER.encode(media)

    async def serialize_async(self, media: object, content_type: str) -> bytes:
        """Encode ``media`` as JSON bytes."""
        return ENCODER.encode(media)

    def deserialize(self, stream: Any, content_type: str | None, content_length: int | None) -> Any:
        """Decode a JSON body."""
        return self._decode(stream.read())

    async def deserialize_async(
        self, stream: Any, content_type: str | None, content_length: int | None
    ) -> Any:
        """Decode a JSON body."""
        return self._decode(await stream.read())
