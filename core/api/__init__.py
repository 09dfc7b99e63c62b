"""The /api/v1 JSON API: plugins add `ApiRoute`s through `register_api_routes`."""

from __future__ import annotations

from core.api.errors import ApiError
from core.contributions import ApiRoute

__all__ = ["ApiError", "ApiRoute"]
