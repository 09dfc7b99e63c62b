"""Jinja2 rendering for the shell and every plugin: `render(request, name, context, block=...)`.

The loader searches the shell's templates first (`templates/` in a checkout,
`core/shell_templates/` in a wheel), then each plugin's own `templates/` and any
directory a plugin registers. An htmx request given a `block` gets only that block (a fragment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from jinja2_fragments.starlette import Jinja2Blocks
from starlette.requests import Request
from starlette.responses import HTMLResponse

from core.runtime import Runtime
from core.web import csrf

# In a wheel the shell's templates ship as core/shell_templates (core/_build.py); in a checkout
# (and an editable install) they are the top-level templates/ folder.
_PACKAGED = Path(__file__).resolve().parents[1] / "shell_templates"
_CHECKOUT = Path(__file__).resolve().parents[2] / "templates"
SHELL_TEMPLATES = _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT
SERVICE = "templates"


def build_templates(runtime: Runtime) -> Jinja2Blocks:
    dirs: list[str] = [str(SHELL_TEMPLATES)]
    for plugin in runtime.host.plugins():
        if plugin.template_dir is not None:
            dirs.append(str(plugin.template_dir))
    dirs.extend(str(d) for d in runtime.host.collect("register_template_dirs"))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Blocks(env=env)


def templates_for(runtime: Runtime) -> Jinja2Blocks:
    templates = runtime.services.get(SERVICE)
    if templates is None:
        templates = runtime.services[SERVICE] = build_templates(runtime)
    return templates


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def base_context(request: Request) -> dict[str, Any]:
    session = request.scope.get("session")
    token = csrf.get_token(session) if isinstance(session, dict) else ""
    return {
        "request": request,
        "csrf_token": token,
        "csrf_field": csrf.FIELD,
        "user": getattr(request.state, "user", None),
        "ctx": getattr(request.state, "workspace_context", None),
    }


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """Render `name` (or only `block` of it for an htmx request) with the shell's context."""
    runtime: Runtime = request.app.state.runtime
    values = base_context(request)
    values.update(context or {})
    templates = templates_for(runtime)
    if block is not None and is_htmx(request):
        response = templates.TemplateResponse(
            request, name, values, status_code=status, block_name=block
        )
    else:
        response = templates.TemplateResponse(request, name, values, status_code=status)
    assert isinstance(response, HTMLResponse)
    return response
