from __future__ import annotations

from core.commands.database import pending_changes
from core.settings import Settings


async def test_models_and_migrations_agree(settings: Settings) -> None:
    writers = await pending_changes(settings)
    assert writers == [], f"models changed without a migration: {[w.app_label for w in writers]}"
