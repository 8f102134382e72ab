"""`python -m fangpin_employment.cli rebuild-labourers`: replay monitoring's stream into a
fresh labourers read model (what POST /api/v1/admin/labourers/rebuild does)."""

from __future__ import annotations

import argparse
import asyncio
import json

import nats

from fangpin_common.db import Database
from fangpin_employment.labourers import service as labourers
from fangpin_employment.labourers.models import RebuildReport
from fangpin_employment.settings import EmploymentSettings


async def rebuild_labourers(settings: EmploymentSettings | None = None, batch: int = 2000,
                            force: bool = False) -> RebuildReport:
    settings = settings or EmploymentSettings()
    database = Database(settings)
    nc = await nats.connect(settings.nats_url, name="fangpin-employment-rebuild")
    try:
        return await labourers.rebuild(database, nc.jetstream(timeout=30), batch=batch,
                                       force=force)
    finally:
        await nc.close()
        await database.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fangpin_employment.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("rebuild-labourers", help=__doc__)
    p.add_argument("--batch", type=int, default=2000)
    p.add_argument("--force", action="store_true",
                   help="rebuild even if the stream lost its first messages")
    args = parser.parse_args(argv)
    report = asyncio.run(rebuild_labourers(batch=args.batch, force=args.force))
    print(json.dumps(report.model_dump(), ensure_ascii=False))


if __name__ == "__main__":
    main()
