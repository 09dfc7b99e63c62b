"""Test database helpers: create, migrate, truncate and drop."""

from __future__ import annotations

import asyncpg

from core import db
from core.plugins import PluginHost
from core.settings import Settings


def _dsn(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


async def create_postgres_database(server_url: str, name: str) -> str:
    """Create a fresh database on the server at `server_url`; returns its URL."""
    base = server_url.rstrip("/")
    if base.count("/") > 2:  # a database name is already present: keep the server part
        base = base.rsplit("/", 1)[0]
    conn = await asyncpg.connect(_dsn(base + "/postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{base}/{name}"


async def drop_postgres_database(server_url: str, name: str) -> None:
    base = server_url.rstrip("/")
    if base.count("/") > 2:
        base = base.rsplit("/", 1)[0]
    conn = await asyncpg.connect(_dsn(base + "/postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def migrate(settings: Settings, host: PluginHost) -> None:
    try:
        await db.migrate(settings, host)
    finally:
        await db.close_db()


async def truncate_all(url: str) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT LIKE 'tortoise%'"
        )
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        if names:
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
