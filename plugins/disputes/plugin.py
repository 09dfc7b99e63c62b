"""The disputes plugin's hook implementations (the plugin is built under its own issue)."""

from __future__ import annotations
