"""Stripe-style ids from seeded random streams.

Each prefix has its own stream so that creating one kind of object never shifts the ids of
another: a demo seeded with ``--seed demo`` keeps its customer ids when someone adds prices.
"""

from __future__ import annotations

import os
import random
import string

ALPHABET = string.digits + string.ascii_letters

# Lengths of the random part, close to what Stripe issues today.
_LENGTHS = {
    "cus": 14,
    "acct": 16,
    "ca": 32,
    "whsec": 32,
    "sk_test": 99,
    "rk_test": 99,
    "pk_test": 99,
    "req": 14,
    "ac": 24,
    "rt": 24,
    "sub": 24,
}


class IdFactory:
    """Issues ids like ``cus_NffrFeUfNV2Hib`` or ``pm_1Mq...`` deterministically per seed."""

    def __init__(self, seed: str | None) -> None:
        self.seed = seed if seed is not None else os.urandom(16).hex()
        self._streams: dict[str, random.Random] = {}

    def _stream(self, prefix: str) -> random.Random:
        rng = self._streams.get(prefix)
        if rng is None:
            rng = random.Random(f"{self.seed}:{prefix}")
            self._streams[prefix] = rng
        return rng

    def token(self, prefix: str, length: int | None = None) -> str:
        n = length if length is not None else _LENGTHS.get(prefix, 24)
        body = "".join(self._stream(prefix).choices(ALPHABET, k=n))
        if n == 24 and prefix not in _LENGTHS:
            # Modern Stripe ids start with "1" followed by the account's short code.
            body = "1" + body[1:]
        return f"{prefix}_{body}"

    def rng(self, name: str) -> random.Random:
        """A named deterministic stream for anything else random (fingerprints, reorders)."""
        return self._stream(f"~{name}")
