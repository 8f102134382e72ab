"""Jinja2 templates over fangpin_console/templates and the static files at /static."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from fangpin_console.web import session

PACKAGE = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=PACKAGE / "templates")


@pass_context
def _csrf_token(context) -> str:
    return session.csrf_token(context["request"])


templates.env.globals["csrf_token"] = _csrf_token


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=PACKAGE / "static"), name="static")


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
