"""The whole sandbox as data: accounts, keys, OAuth grants, idempotency, timers, outbox.

Everything here pickles (see ``persistence.py``); runtime machinery (the delivery worker,
wake-up callbacks) is attached by the app and skipped when pickling.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import SandboxClock
from sandbox.config import SandboxConfig
from sandbox.ids import IdFactory
from sandbox.keys import Access, ApiKey, KeyKind
from sandbox.store import AccountStore
from sandbox.timers import TimerQueue

Obj = dict[str, Any]


@dataclass
class Account:
    id: str
    obj: Obj
    store: AccountStore
    secret_key: str
    publishable_key: str
    is_platform: bool = False
    # The platform this account is connected to (OAuth or the sandbox admin API), if any.
    platform: str | None = None
    scope: str | None = None


@dataclass
class OAuthCode:
    code: str
    account_id: str
    scope: str
    client_id: str
    expires_at: float
    used: bool = False


@dataclass
class RefreshToken:
    token: str
    account_id: str
    scope: str
    client_id: str


@dataclass
class IdempotentResult:
    fingerprint: tuple[str, str, str]
    status: int
    body: bytes
    request_id: str
    created: float


@dataclass
class DeliveryOptions:
    """Test knobs for webhook delivery (``POST /_sandbox/delivery_options``)."""

    duplicate: int = 0  # extra copies of every delivery
    reorder: bool = False  # send each batch of due deliveries in reverse order
    reorder_window: float = 0.2  # seconds to gather a batch when reordering
    delay: float = 0.0  # seconds before the first attempt
    retry_schedule: tuple[float, ...] | None = None  # overrides the config's schedule
    paused: bool = False  # hold everything in the outbox

    def as_dict(self) -> dict[str, Any]:
        return {
            "duplicate": self.duplicate,
            "reorder": self.reorder,
            "reorder_window": self.reorder_window,
            "delay": self.delay,
            "retry_schedule": list(self.retry_schedule) if self.retry_schedule else None,
            "paused": self.paused,
        }


@dataclass(order=True)
class Delivery:
    due: float
    seq: int
    id: str = field(compare=False)
    event_id: str = field(compare=False)
    event_account: str = field(compare=False)
    endpoint_id: str = field(compare=False)
    endpoint_account: str = field(compare=False)
    connect: bool = field(compare=False, default=False)
    attempt: int = field(compare=False, default=1)
    duplicate: bool = field(compare=False, default=False)


class SandboxState:
    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.ids = IdFactory(self.config.seed)
        self.clock = SandboxClock(self.config.frozen_time)
        self.accounts: dict[str, Account] = {}
        self.keys: dict[str, ApiKey] = {}
        self.oauth_codes: dict[str, OAuthCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.idempotency: dict[tuple[str, str], IdempotentResult] = {}
        self.timers = TimerQueue()
        self.delivery_options = DeliveryOptions()
        self.outbox: list[Delivery] = []
        self.delivery_log: list[dict[str, Any]] = []
        self.rate_limits: dict[str, float | None] = {}
        self.platform_id = ""
        self.client_id = ""
        self._delivery_seq = 0
        self.on_outbox: Callable[[], None] | None = None  # runtime only

    # -- pickling: runtime callbacks stay behind ------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["on_outbox"] = None
        return data

    def __setstate__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)

    # -- accounts and keys ----------------------------------------------------------
    @property
    def platform(self) -> Account:
        return self.accounts[self.platform_id]

    def account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    def mint_key(
        self,
        account_id: str,
        kind: KeyKind,
        permissions: dict[str, Access] | None = None,
        *,
        issued_to: str | None = None,
        prefix: str | None = None,
    ) -> ApiKey:
        default_prefix = {"secret": "sk_test", "restricted": "rk_test", "publishable": "pk_test"}
        secret = self.ids.token(prefix or default_prefix[kind])
        key = ApiKey(secret, account_id, kind, dict(permissions or {}), issued_to=issued_to)
        self.keys[secret] = key
        return key

    def connected_accounts(self, platform_id: str) -> list[Account]:
        return [a for a in self.accounts.values() if a.platform == platform_id]

    # -- webhook outbox -------------------------------------------------------------
    def next_delivery_seq(self) -> int:
        self._delivery_seq += 1
        return self._delivery_seq

    def wake_outbox(self) -> None:
        if self.on_outbox is not None:
            self.on_outbox()

    def log_delivery(self, entry: dict[str, Any]) -> None:
        self.delivery_log.append(entry)
        if len(self.delivery_log) > 20000:
            del self.delivery_log[:5000]

    @staticmethod
    def wall_time() -> float:
        return time.time()
