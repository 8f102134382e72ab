"""`fangpin`: tokens, migrations, the whole system in one command, the event schema."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from fangpin_common import migrations
from fangpin_common.auth import ROLES, Principal
from fangpin_common.county import load_county, township_unit, village_unit
from fangpin_common.settings import ServiceSettings

SERVICES = migrations.SERVICES


def service_settings(service: str) -> ServiceSettings:
    module = importlib.import_module(f"fangpin_{service}.settings")
    return getattr(module, f"{service.capitalize()}Settings")()


def cmd_token(args: argparse.Namespace) -> None:
    settings = ServiceSettings()
    county = load_county(settings.county_config)
    township = None
    if args.township:
        found = county.township(args.township)
        if found is None:
            sys.exit(f"unknown township {args.township!r}: "
                     + ", ".join(t.name for t in county.townships))
        township = found.code
    unit = args.unit
    if unit is None:
        unit = {"county": county.county.lead_unit,
                "township": township_unit(township) if township else None,
                "village": village_unit(args.village) if args.village else None,
                "department": args.department}.get(args.role)
    if args.role in ("township", "village") and township is None:
        sys.exit(f"--township is required for role {args.role}")
    if args.role == "village" and not args.village:
        sys.exit("--village is required for role village")
    principal = Principal(sub=args.sub or f"{args.role}:{unit or 'user'}", role=args.role,
                          unit=unit, township=township, village=args.village,
                          department=args.department)
    # Signed by the console's current key, read from the console's database: run it where the
    # console runs (the key never leaves it).
    from fangpin_console import operations

    print(asyncio.run(operations.operator_token(principal, timedelta(hours=args.hours))))


def cmd_user_add(args: argparse.Namespace) -> None:
    from fangpin_common.errors import DomainError, NotFound
    from fangpin_console import operations

    try:
        password = asyncio.run(operations.add_user(args.username, args.name or args.username,
                                                   args.unit, admin=args.admin))
    except (DomainError, NotFound) as exc:
        sys.exit(f"refused: {exc.message}")
    print(f"account {args.username} created; one-time password (shown once, to be changed "
          f"at the first sign-in): {password}")


def cmd_keys_rotate(args: argparse.Namespace) -> None:
    from fangpin_console import operations

    kid = asyncio.run(operations.rotate_keys())
    print(f"new signing key {kid}; tokens signed with the previous key stay valid until they "
          "expire")


def cmd_migrate(args: argparse.Namespace) -> None:
    for service in args.services or SERVICES:
        asyncio.run(migrations.upgrade(service, service_settings(service)))
        print(f"{service}: migrated to head")


def cmd_makemigrations(args: argparse.Namespace) -> None:
    settings = service_settings(args.service).model_copy(update={
        "database_url": f"sqlite+aiosqlite:///./var/makemigrations-{args.service}.db"})
    Path(f"var/makemigrations-{args.service}.db").unlink(missing_ok=True)
    asyncio.run(migrations.revision(args.service, settings, args.message))


def cmd_events(args: argparse.Namespace) -> None:
    from fangpin_common.events import asyncapi

    print(json.dumps(asyncapi(), ensure_ascii=False, indent=2))


def cmd_watch(args: argparse.Namespace) -> None:
    """Print events as they are published (or replay the streams with --from-start)."""
    import nats

    async def watch() -> None:
        nc = await nats.connect(ServiceSettings().nats_url)

        def show(msg) -> None:
            event = json.loads(msg.data)
            print(f"{event.get('time', '')}  {msg.subject}  subject={event.get('subject')}")
            print("    " + json.dumps(event.get("data"), ensure_ascii=False), flush=True)

        if args.from_start:
            js = nc.jetstream()
            for service in SERVICES:
                try:
                    sub = await js.subscribe(args.subject, stream=f"FANGPIN_{service.upper()}",
                                             ordered_consumer=True)
                except Exception:  # that stream does not exist yet
                    continue
                while True:
                    try:
                        show(await sub.next_msg(timeout=0.5))
                    except (TimeoutError, nats.errors.TimeoutError):
                        break
                await sub.unsubscribe()
        else:
            async def on_message(msg) -> None:
                show(msg)

            await nc.subscribe(args.subject, cb=on_message)
            print(f"watching {args.subject} — Ctrl-C to stop", flush=True)
            while True:
                await asyncio.sleep(3600)
        await nc.close()

    try:
        asyncio.run(watch())
    except KeyboardInterrupt:
        pass


def cmd_run(args: argparse.Namespace) -> None:
    """NATS (unless FANGPIN_NATS_URL names another), migrations, the four services and the
    console (with a first administrator on the first run)."""
    from fangpin_common.natsserver import NatsServer

    Path("var/log").mkdir(parents=True, exist_ok=True)
    children: list[tuple[str, subprocess.Popen]] = []
    nats = None
    if "FANGPIN_NATS_URL" not in os.environ:
        nats = NatsServer(Path("var/nats"), port=14222, http_port=18222)
        nats.start(log_file=Path("var/log/nats-server.log"))
        print(f"nats-server (JetStream) on {nats.url}, monitoring http://127.0.0.1:18222")
    load_county(ServiceSettings().county_config)  # refuse a broken configuration up front
    for service in SERVICES:
        asyncio.run(migrations.upgrade(service, service_settings(service)))
    from fangpin_console import operations

    console = service_settings("console")
    first_admin = asyncio.run(operations.ensure_first_admin(console))
    env = dict(os.environ)
    # The services verify tokens with the console's public keys, wherever it listens.
    env.setdefault("FANGPIN_JWKS_URL", f"http://{console.host}:{console.port}/.well-known/jwks.json")
    for service in SERVICES:
        s = service_settings(service)
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory",
                                 f"fangpin_{service}.main:create_app", "--host", s.host,
                                 "--port", str(s.port), "--no-access-log"], env=env)
        children.append((service, proc))
        print(f"{service:<14} http://{s.host}:{s.port}  (docs: /docs, metrics: /metrics)")
    print(f"Console (sign in here): http://{console.host}:{console.port}/login")
    if first_admin is not None:
        # Shown this once and stored nowhere: it must be changed at the first sign-in.
        username, password = first_admin
        print(f"First administrator: {username}  one-time password: {password}")
    print("Ctrl-C stops everything.")

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, proc in children:
            if proc.poll() is not None:
                print(f"{name} exited with {proc.returncode}; stopping the others", file=sys.stderr)
                exit_code, stopping = 1, True
        time.sleep(0.5)
    for _, proc in children:
        if proc.poll() is None:
            proc.terminate()
    for _, proc in children:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    if nats is not None:
        nats.stop()
    sys.exit(exit_code)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fangpin", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("token", help="print a bearer token signed with the console's key")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--township", help="乡镇名称或代码")
    p.add_argument("--village", help="村（社区）代码")
    p.add_argument("--department", help="department code, e.g. county.civil_affairs")
    p.add_argument("--unit", help="the unit whose inbox the token reads (default: by role)")
    p.add_argument("--sub", help="the user id recorded in the audit log")
    p.add_argument("--hours", type=int, default=12)
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("user", help="accounts of the console")
    user = p.add_subparsers(dest="user_command", required=True)
    p = user.add_parser("add", help="add an account with a one-time password")
    p.add_argument("username")
    p.add_argument("--name", help="显示名称（姓名）")
    p.add_argument("--unit", action="append", required=True,
                   help="unit code of the directory, e.g. county.rural_revitalisation, "
                        "township.450224103 (repeat only where the county allows two roles)")
    p.add_argument("--admin", action="store_true", help="may manage accounts and sessions")
    p.set_defaults(func=cmd_user_add)

    p = sub.add_parser("keys", help="the console's signing keys")
    keys = p.add_subparsers(dest="keys_command", required=True)
    p = keys.add_parser("rotate", help="sign with a new key from now on")
    p.set_defaults(func=cmd_keys_rotate)

    p = sub.add_parser("migrate", help="bring each service's database to the latest schema")
    p.add_argument("services", nargs="*", help=", ".join(SERVICES))
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("makemigrations", help="autogenerate a migration for one service")
    p.add_argument("service", choices=SERVICES)
    p.add_argument("-m", "--message", required=True)
    p.set_defaults(func=cmd_makemigrations)

    p = sub.add_parser("events", help="print the published event schema (AsyncAPI)")
    p.set_defaults(func=cmd_events)

    p = sub.add_parser("watch", help="print events as they are published")
    p.add_argument("--subject", default="fangpin.>", help="a NATS subject filter")
    p.add_argument("--from-start", action="store_true",
                   help="replay what the streams hold, then stop")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("run", help="run NATS, the four services and the console")
    p.set_defaults(func=cmd_run)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
