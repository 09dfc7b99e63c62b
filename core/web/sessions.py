"""Signed session cookies made outside a request: for test fixtures and support tools.

`await session_cookie(runtime, user, workspace_id=..., csrf=...)` records a `UserSession` and
returns the `sl_session` cookie value a real sign-in would have set.
"""

from __future__ import annotations

import base64
import json

from itsdangerous import TimestampSigner

from core.crypto import hash_token, new_token
from core.models.auth import UserSession
from core.models.workspaces import User
from core.runtime import Runtime
from core.web.auth import SESSION_KEY, USER_KEY, WORKSPACE_KEY
from core.web.csrf import SESSION_KEY as CSRF_KEY


async def session_cookie(
    runtime: Runtime, user: User, *, workspace_id: int | None = None, csrf: str | None = None
) -> str:
    key = new_token("", 32)
    await UserSession.create(user=user, key_hash=hash_token(key), created_at=runtime.now())
    session: dict[str, object] = {USER_KEY: user.id, SESSION_KEY: key}
    if workspace_id is not None:
        session[WORKSPACE_KEY] = workspace_id
    if csrf is not None:
        session[CSRF_KEY] = csrf
    data = base64.b64encode(json.dumps(session).encode())
    # The same signer and encoding as Starlette's SessionMiddleware.
    return TimestampSigner(runtime.settings.secret_key).sign(data).decode()
