"""The wheel build step that ships the shell's templates inside the package.

The layout keeps the shell's templates at the top of the checkout (`templates/`), beside
`core/`. A wheel has no "beside": everything lives in packages. So `pyproject.toml` points
setuptools' `build_py` here, and it copies `templates/` into `core/shell_templates/` of the
build; `core.web.templating` looks there first and falls back to the checkout. An editable
install reads `templates/` in place and copies nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools.command.build_py import build_py as _build_py

SOURCE = Path(__file__).resolve().parents[1] / "templates"
TARGET = ("core", "shell_templates")


class BuildPy(_build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib, *TARGET)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(SOURCE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
