"""`secondloop keys rotate`: re-encrypt every ciphertext at rest under the newest key.

Encrypted columns are found, not listed: every field named `*_enc` of every registered model.
A ciphertext's context is `<snake_case model name>:<pk>:<field without _enc>` (StripeAccount:
`stripe_account:{id}:api_key`) unless the model defines `encryption_context(field) -> str`.
Idempotent: values already under the newest key are left alone.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass

from tortoise import Tortoise
from tortoise.models import Model

from core import db
from core.contributions import CliCommand
from core.crypto import DecryptionError, Keyring
from core.plugins import build_plugin_host
from core.settings import Settings, SettingsError
from core.tenancy import unscoped

SUFFIX = "_enc"


@dataclass
class RotationCount:
    model: str
    field: str
    rotated: int = 0
    current: int = 0
    failed: int = 0


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def encryption_context(row: Model, field: str) -> str:
    """The context a `<field>_enc` column of `row` was encrypted with."""
    custom = getattr(row, "encryption_context", None)
    if callable(custom):
        return str(custom(field))
    return f"{_snake(type(row).__name__)}:{row.pk}:{field}"


def encrypted_columns() -> list[tuple[type[Model], list[str]]]:
    found = []
    for models in Tortoise.apps.values():
        for model in models.values():
            names = sorted(n for n in model._meta.fields_map if n.endswith(SUFFIX))
            if names:
                found.append((model, names))
    return sorted(found, key=lambda item: item[0].__name__)


async def rotate_all(keyring: Keyring) -> list[RotationCount]:
    counts: list[RotationCount] = []
    with unscoped():
        for model, names in encrypted_columns():
            tallies = {name: RotationCount(model.__name__, name) for name in names}
            for row in await model.all().order_by(model._meta.pk_attr):
                changed: list[str] = []
                for name in names:
                    token = getattr(row, name)
                    if not token:
                        continue
                    if not keyring.needs_rotation(token):
                        tallies[name].current += 1
                        continue
                    context = encryption_context(row, name[: -len(SUFFIX)])
                    try:
                        plain = keyring.decrypt(token, context=context)
                    except DecryptionError:
                        tallies[name].failed += 1
                        continue
                    setattr(row, name, keyring.encrypt(plain, context=context))
                    tallies[name].rotated += 1
                    changed.append(name)
                if changed:
                    await row.save(update_fields=changed)
            counts.extend(tallies.values())
    return counts


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["rotate"], help="what to do")


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        settings.validate()
        keyring = Keyring.from_strings(settings.encryption_keys)
    except (SettingsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    await db.init_db(settings, build_plugin_host(settings.plugins))
    try:
        counts = await rotate_all(keyring)
    finally:
        await db.close_db()
    print(f"newest key: {keyring.primary_id}")
    for count in counts:
        print(
            f"{count.model}.{count.field}: {count.rotated} re-encrypted, "
            f"{count.current} already current, {count.failed} undecryptable"
        )
    failed = sum(c.failed for c in counts)
    if failed:
        print(
            f"error: {failed} value(s) no key in SECONDLOOP_ENCRYPTION_KEYS opens", file=sys.stderr
        )
        return 1
    return 0


COMMANDS = [
    CliCommand("keys", "Re-encrypt secrets at rest under the newest key.", _configure, _run)
]
