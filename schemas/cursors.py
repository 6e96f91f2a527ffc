"""Opaque cursors: `next` tokens and event ids sealed under a server key.

A cursor is a keyset position (date_added, global sequence); in the clear it would let a
reader count other groups' posts between two pages. Tokens are encrypted and authenticated
(encrypt-then-MAC with keyed BLAKE2b as the PRF: a keystream from a random nonce, then a
tag over nonce and ciphertext), so they reveal nothing and a forged or altered one is
refused. Every process derives the same keys from one server key, so a token from one
process (or from before a restart) opens in any other. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from datetime import UTC, datetime, timedelta

from schemas.taxii import Cursor, QueryError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_TIME = datetime(1, 1, 2, tzinfo=UTC)
_MAX_TIME = datetime(9999, 12, 30, tzinfo=UTC)
_NONCE, _TAG, _POSITION = 12, 16, 16
_BLOCK = 64  # keystream bytes per BLAKE2b call
# A position and, for TAXII `next` tokens, the query's carried filters (schemas.taxii).
_MAX_PLAIN = _POSITION + 1600
_MAX_TOKEN_CHARS = (4 * (_NONCE + _MAX_PLAIN + _TAG) + 2) // 3


class CursorCodec:
    """Seals cursors into tokens and opens them again, under one server key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the cursor key must have at least 16 bytes")
        self._enc = hashlib.blake2b(key, person=b"accord-enc", digest_size=32).digest()
        self._mac = hashlib.blake2b(key, person=b"accord-mac", digest_size=32).digest()

    def _stream(self, nonce: bytes, size: int) -> bytes:
        blocks = [hashlib.blake2b(nonce + struct.pack(">I", n), key=self._enc,
                                  digest_size=_BLOCK).digest()
                  for n in range((size + _BLOCK - 1) // _BLOCK)]
        return b"".join(blocks)[:size]

    def _tag(self, data: bytes) -> bytes:
        return hashlib.blake2b(data, key=self._mac, digest_size=_TAG).digest()

    def encode(self, cursor: Cursor, carried: str = "") -> str:
        """An opaque token for `cursor` and optional carried text (a fresh nonce each time)."""
        micros = (cursor.date_added - _EPOCH) // timedelta(microseconds=1)
        plain = struct.pack(">qq", micros, cursor.seq) + carried.encode()
        if len(plain) > _MAX_PLAIN:
            raise ValueError("carried text too long for a cursor")
        nonce = os.urandom(_NONCE)
        stream = self._stream(nonce, len(plain))
        sealed = nonce + bytes(a ^ b for a, b in zip(plain, stream, strict=True))
        return base64.urlsafe_b64encode(sealed + self._tag(sealed)).decode().rstrip("=")

    def decode_next(self, token: str) -> tuple[Cursor, str]:
        """The cursor and carried text of a token this server issued; QueryError else."""
        try:
            if len(token) > _MAX_TOKEN_CHARS or not token.isascii():
                raise ValueError
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            if not _NONCE + _POSITION + _TAG <= len(raw) <= _NONCE + _MAX_PLAIN + _TAG:
                raise ValueError
            sealed, tag = raw[:-_TAG], raw[-_TAG:]
            if not hmac.compare_digest(tag, self._tag(sealed)):
                raise ValueError
            nonce, body = sealed[:_NONCE], sealed[_NONCE:]
            stream = self._stream(nonce, len(body))
            plain = bytes(a ^ b for a, b in zip(body, stream, strict=True))
            micros, seq = struct.unpack(">qq", plain[:_POSITION])
            when = _EPOCH + timedelta(microseconds=micros)
            if seq < 0 or not _MIN_TIME <= when <= _MAX_TIME:
                raise ValueError
            return Cursor(when, seq), plain[_POSITION:].decode()
        except (ValueError, binascii.Error, OverflowError, struct.error,
                UnicodeDecodeError) as exc:
            raise QueryError("next is not a token this server issued") from exc

    def decode(self, token: str) -> Cursor:
        """The cursor in a token this server issued; QueryError for anything else."""
        return self.decode_next(token)[0]
