"""Router dependencies of this service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from fangpin_common.auth import Principal, require_roles

County = Annotated[Principal, Depends(require_roles("county"))]


def notifier(request: Request):
    return request.app.state.notifier


NotifierDep = Annotated[object, Depends(notifier)]
