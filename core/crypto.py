"""AES-256-GCM encryption at rest with a keyring: the first key encrypts, every key decrypts."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"


class DecryptionError(ValueError):
    """No key in the keyring opens this ciphertext (wrong key, or tampered data)."""


def _decode_key(key: str) -> bytes:
    return base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))


def key_id(raw: bytes) -> str:
    """A short, non-secret fingerprint that names a key inside each ciphertext."""
    return hashlib.sha256(raw).hexdigest()[:8]


@dataclass(frozen=True)
class Keyring:
    keys: tuple[bytes, ...]

    @classmethod
    def from_strings(cls, keys: tuple[str, ...] | list[str]) -> Keyring:
        raw = tuple(_decode_key(k) for k in keys)
        if not raw or any(len(k) != 32 for k in raw):
            raise ValueError("a keyring needs one or more 32-byte keys")
        return cls(raw)

    @property
    def primary_id(self) -> str:
        return key_id(self.keys[0])

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        """Encrypt under the newest key; `context` binds the ciphertext to its row and column."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[0]).encrypt(nonce, plaintext.encode(), context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{_VERSION}:{self.primary_id}:{body}"

    def decrypt(self, token: str, *, context: str = "") -> str:
        try:
            version, kid, body = token.split(":", 2)
        except ValueError as exc:
            raise DecryptionError("not a SecondLoop ciphertext") from exc
        if version != _VERSION:
            raise DecryptionError(f"unknown ciphertext version {version!r}")
        blob = base64.urlsafe_b64decode(body)
        # Try the named key first; a fingerprint collision just falls through to the others.
        candidates = sorted(self.keys, key=lambda k: key_id(k) != kid)
        for key in candidates:
            try:
                return AESGCM(key).decrypt(blob[:12], blob[12:], context.encode()).decode()
            except InvalidTag:
                continue
        raise DecryptionError("no key in SECONDLOOP_ENCRYPTION_KEYS decrypts this value")

    def needs_rotation(self, token: str) -> bool:
        return token.split(":", 2)[1:2] != [self.primary_id]


def hash_token(token: str) -> str:
    """Tokens we only ever compare (API keys, magic links) are stored as SHA-256 hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str = "", nbytes: int = 32) -> str:
    return prefix + base64.urlsafe_b64encode(os.urandom(nbytes)).decode().rstrip("=")
