"""Jinja2 templates (fangpin_console/templates) and static files (/static), served by the
console itself: county networks may have no internet, so nothing comes from a CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

PACKAGE = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = PACKAGE / "templates"
STATIC_DIR = PACKAGE / "static"

templates = Jinja2Templates(directory=TEMPLATES_DIR)


@pass_context
def _csrf_token(context) -> str:
    """`{{ csrf_token() }}` in a form: the token of the page's session (or of the sign-in form)."""
    from fangpin_console.web.session import csrf_token_of

    return csrf_token_of(context["request"])


templates.env.globals["csrf_token"] = _csrf_token


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def _lookup(values, path: str):
    """`members.0.name` in a nested form value (what the person typed, shown back)."""
    current = values
    for part in path.split("."):
        if isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        elif isinstance(current, dict):
            current = current.get(part)
        else:
            return None
    return current


templates.env.globals["lookup"] = _lookup

# Templates change with a deployment, not while it runs: no file checks on every page.
templates.env.auto_reload = False
