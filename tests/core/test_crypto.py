from __future__ import annotations

import base64
import os

import pytest

from core.crypto import DecryptionError, Keyring, hash_token


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_round_trip_and_context_binding() -> None:
    ring = Keyring.from_strings([_key()])
    token = ring.encrypt("rk_test_123", context="account:1:api_key")
    assert "rk_test_123" not in token
    assert ring.decrypt(token, context="account:1:api_key") == "rk_test_123"
    with pytest.raises(DecryptionError):
        ring.decrypt(token, context="account:2:api_key")


def test_rotation_old_keys_decrypt_new_key_encrypts() -> None:
    old, new = _key(), _key()
    token = Keyring.from_strings([old]).encrypt("secret")
    rotated = Keyring.from_strings([new, old])
    assert rotated.decrypt(token) == "secret"
    assert rotated.needs_rotation(token)
    fresh = rotated.encrypt("secret")
    assert not rotated.needs_rotation(fresh)
    with pytest.raises(DecryptionError):
        Keyring.from_strings([old]).decrypt(fresh)


def test_tampering_is_detected() -> None:
    ring = Keyring.from_strings([_key()])
    token = ring.encrypt("secret")
    body = bytearray(base64.urlsafe_b64decode(token.split(":", 2)[2]))
    body[-1] ^= 1
    forged = ":".join([*token.split(":", 2)[:2], base64.urlsafe_b64encode(bytes(body)).decode()])
    with pytest.raises(DecryptionError):
        ring.decrypt(forged)


def test_hash_token_is_sha256_hex() -> None:
    assert len(hash_token("abc")) == 64 and hash_token("abc") != hash_token("abd")
