"""A non-editable install works: the wheel carries the shell's templates (from the top-level
templates/), the plugins' templates and static files, the core's static files, every migration
and the data files, and the app built from the installed wheel renders its pages."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _source_files() -> list[Path]:
    """What a checkout holds: tracked files and new ones not ignored, plus the vendored htmx
    that `make htmx` puts in place (ignored by git, shipped in the wheel)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    files = [Path(name) for name in listed if name and (ROOT / name).is_file()]
    htmx = Path("core/static/vendor/htmx.min.js")
    if (ROOT / htmx).is_file():
        files.append(htmx)
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build the wheel from a clean copy of the checkout, offline, with the venv's setuptools."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    for name in _source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = base / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = out.glob("secondloop-*.whl")
    yield built


def test_the_wheel_carries_templates_static_files_migrations_and_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shell = {
        f"core/shell_templates/{p.relative_to(ROOT / 'templates')}"
        for p in (ROOT / "templates").rglob("*.html")
    }
    assert shell and shell <= names, sorted(shell - names)
    assert "core/shell_templates/app/members.html" in names
    assert not any(n.startswith("templates/") for n in names)  # no top-level "templates" package

    wanted = {
        str(p.relative_to(ROOT))
        for pattern in (
            "plugins/*/templates/**/*.html",
            "plugins/*/static/**/*",
            "core/static/shell/*",
            "migrations/*/*.py",
            "plugins/*/*.tsv",
            "sandbox/billing/*.tsv",
        )
        for p in ROOT.glob(pattern)
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert any(w.startswith("plugins/audit/templates/") for w in wanted)
    assert {"plugins/audit/declines.tsv", "migrations/core/0001_initial.py"} <= wanted
    assert wanted <= names, sorted(wanted - names)
    assert ("core/static/vendor/htmx.min.js" in names) == (
        ROOT / "core/static/vendor/htmx.min.js"
    ).is_file()


def test_the_installed_wheel_serves_its_pages(wheel: Path, tmp_path: Path) -> None:
    """Unpacked (what pip does with a pure-Python wheel) in front of the venv's dependencies,
    with the checkout out of the way, the app finds its templates and static files."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(site)!r})
        import core, plugins.audit
        assert core.__file__.startswith({str(site)!r}), core.__file__
        from starlette.testclient import TestClient
        from core.app import create_app
        from core.settings import Settings
        from core.web import templating
        assert str(templating.SHELL_TEMPLATES).startswith({str(site)!r})
        settings = Settings(environment="test", database_url="sqlite://{tmp_path}/t.db")
        with TestClient(create_app(settings)) as client:
            page = client.get("/signin")
            assert page.status_code == 200 and 'name="email"' in page.text, page.text[:300]
            css = client.get("/static/shell/app.css")
            assert css.status_code == 200 and "--accent" in css.text
        print("ok")
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
