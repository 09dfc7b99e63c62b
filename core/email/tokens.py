"""Signed unsubscribe tokens: they name a workspace and an address, and never expire.

An unsubscribe link must keep working for as long as the mail sits in an inbox, so the token
carries no timestamp; it is signed with SECONDLOOP_SECRET_KEY so nobody can forge one.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from core.settings import Settings

_SALT = "secondloop.email.unsubscribe"


@dataclass(frozen=True)
class Unsubscribe:
    workspace_id: int
    email: str


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt=_SALT)


def make_token(settings: Settings, workspace_id: int, email: str) -> str:
    return str(_serializer(settings).dumps({"w": workspace_id, "e": email.strip().lower()}))


def read_token(settings: Settings, token: str) -> Unsubscribe | None:
    """The unsubscribe request a token stands for, or None when forged or malformed."""
    try:
        data = _serializer(settings).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("w"), int):
        return None
    email = data.get("e")
    if not isinstance(email, str) or "@" not in email:
        return None
    return Unsubscribe(workspace_id=data["w"], email=email)


def unsubscribe_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/u/{token}"
