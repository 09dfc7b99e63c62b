"""Open tracking: a 1x1 image in the HTML part of each recovery email, `/r/o/{token}`.

The first time a mail client loads it, the step's result records `opened_at`. Opens are
approximate, and the stats say so: many clients block remote images until the reader allows
them (an open is missed), and some privacy proxies fetch every image on delivery (an open is
counted that nobody saw). A click on the email's link counts as an open too. The token is
signed (its own salt, so a click token cannot stand in for it) and needs no login; any answer,
even to a forged token, is the same image, so the route tells nobody anything.
"""

from __future__ import annotations

import base64
import logging

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import workspace_scope
from plugins.recovery.models import CaseStep

log = logging.getLogger(__name__)
SALT = "secondloop.recovery.open"
# Opens later than this are not worth recording (and old tokens need not stay valid forever).
MAX_AGE = 90 * 86_400
PATH = "/r/o/{token}"
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=SALT)


def pixel_url(settings: Settings, workspace_id: int, case_id: int, step_id: int) -> str:
    token = _serializer(settings).dumps({"w": workspace_id, "c": case_id, "s": step_id})
    return f"{settings.base_url.rstrip('/')}/r/o/{token}"


def with_pixel(html: str, url: str) -> str:
    """The HTML part with the tracking image just before `</body>` (or at the end)."""
    tag = f'<img src="{url}" width="1" height="1" alt="" style="display:block;border:0">'
    at = html.lower().rfind("</body>")
    return html + tag if at < 0 else html[:at] + tag + "\n" + html[at:]


async def record_open(settings: Settings, token: str, at: str) -> bool:
    """Record the first open of the step the token names; True when this call recorded it."""
    try:
        data = _serializer(settings).loads(token, max_age=MAX_AGE)
        workspace_id, case_id, step_id = int(data["w"]), int(data["c"]), int(data["s"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return False
    with workspace_scope(workspace_id):
        step = await CaseStep.get_or_none(id=step_id, case_id=case_id)
        if step is None or "opened_at" in step.result:
            return False
        await CaseStep.filter(id=step.id).update(result={**step.result, "opened_at": at})
    return True


async def pixel(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    try:
        await record_open(runtime.settings, request.path_params["token"], runtime.now().isoformat())
    except Exception:  # never a broken image in the customer's mail client
        log.exception("could not record an email open")
    return Response(
        GIF,
        media_type="image/gif",
        headers={"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"},
    )
