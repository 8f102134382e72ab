"""Errors in the shape FastAPI gives validation errors: 422 names the field and the reason."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class DomainError(Exception):
    """A request that breaks a domain rule. `field` is the path inside the body."""

    status_code = 422

    def __init__(self, field: str | Sequence[str | int], message: str, code: str = "invalid",
                 location: str = "body") -> None:
        super().__init__(message)
        parts = [field] if isinstance(field, str) else list(field)
        self.loc = [location, *parts] if location else parts
        self.message = message
        self.code = code

    def detail(self) -> list[dict]:
        return [{"loc": self.loc, "msg": self.message, "type": self.code}]


class NotFound(Exception):
    status_code = 404

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Conflict(NotFound):
    status_code = 409


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status_code)

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)
