"""The shell's own routes and static files, assembled for `core.web.routes`."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from core.runtime import Runtime
from core.web import members, onboarding, shell, signin, status

STATIC = Path(__file__).resolve().parents[1] / "static"


def routes(runtime: Runtime) -> list[BaseRoute]:
    # Mounted per folder, not at /static: plugins' files live under /static/plugins/<name>.
    return [
        *signin.routes(runtime),
        *onboarding.routes(runtime),
        *shell.routes(runtime),
        *members.routes(runtime),
        *status.routes(runtime),
        Mount("/static/shell", StaticFiles(directory=STATIC / "shell"), name="static-shell"),
        Mount(
            "/static/vendor",
            StaticFiles(directory=STATIC / "vendor", check_dir=False),
            name="static-vendor",
        ),
    ]
