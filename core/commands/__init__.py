"""Built-in CLI commands, one module per concern."""

from __future__ import annotations

from core.contributions import CliCommand


def builtin_commands() -> list[CliCommand]:
    from core.commands import apikey, config, database, demo, plugins, processes, sandbox
    from core.commands import events as event_commands
    from core.commands import keys as keys_commands
    from core.commands import stripe as stripe_commands
    from core.commands import workspaces as workspace_commands

    return [
        *processes.COMMANDS,
        *database.COMMANDS,
        *plugins.COMMANDS,
        *config.COMMANDS,
        *sandbox.COMMANDS,
        *workspace_commands.COMMANDS,
        *demo.COMMANDS,
        *stripe_commands.COMMANDS,
        *keys_commands.COMMANDS,
        *apikey.COMMANDS,
        *event_commands.COMMANDS,
    ]
