"""The operator's pages: cases and their actions, the sequence editor, email previews."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from plugins.recovery.ui import actions, cases, editor, preview
from plugins.recovery.ui.common import BASE

CASE = BASE + "/cases/{id:int}"
STEP = CASE + "/steps/{step_id:int}"


def routes() -> list[BaseRoute]:
    return [
        Route(BASE, cases.home, methods=["GET"]),
        Route(BASE + "/cases", cases.case_list, methods=["GET"], name="recovery-cases"),
        Route(CASE, cases.case_page, methods=["GET"], name="recovery-case"),
        Route(CASE + "/replace", actions.replace, methods=["POST"]),
        Route(CASE + "/notes", actions.note, methods=["POST"]),
        Route(CASE + "/{action:str}", actions.act, methods=["POST"]),
        Route(STEP + "/resend", actions.resend, methods=["POST"]),
        Route(STEP + "/edit", actions.edit_email, methods=["GET", "POST"]),
        Route(STEP + "/preview", preview.case_step_preview, methods=["GET", "POST"]),
        Route(STEP + "/email.html", preview.sent_email_html, methods=["GET"]),
        Route(BASE + "/processing", actions.processing, methods=["POST"]),
        Route(
            BASE + "/sequences", editor.sequence_list, methods=["GET"], name="recovery-sequences"
        ),
        Route(BASE + "/sequences/{category:str}", editor.sequence_editor, methods=["GET", "POST"]),
        Route(BASE + "/sequences/{category:str}/reset", editor.sequence_reset, methods=["POST"]),
    ]
