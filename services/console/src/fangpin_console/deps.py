"""Dependencies of the console's API: the console runtime and the administrator."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from fangpin_common.deps import PrincipalDep
from fangpin_console.accounts import service as accounts
from fangpin_console.accounts.models import Account
from fangpin_console.runtime import Console


def console(request: Request) -> Console:
    return Console.from_request(request)


ConsoleDep = Annotated[Console, Depends(console)]


async def administrator(principal: PrincipalDep, console: ConsoleDep) -> Account:
    """The caller's account, when it may manage accounts (a person, never an API client)."""
    async with console.db.session() as db:
        account = await accounts.by_username(db, principal.sub)
    if account is None or not account.is_admin or account.disabled:
        raise HTTPException(403, detail="需要管理员账号")
    return account


AdminDep = Annotated[Account, Depends(administrator)]
