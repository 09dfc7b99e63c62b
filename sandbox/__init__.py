"""SecondLoop's local Stripe: a Starlette app speaking Stripe's HTTP API.

See ``sandbox/DESIGN.md`` for how the pieces fit and how to add a resource.
"""

from __future__ import annotations

API_VERSION = "2026-10-28.endive"

__all__ = ["API_VERSION"]
