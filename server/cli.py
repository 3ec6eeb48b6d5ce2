"""The `nappatzim` command: serve, worker, scheduler, migrate, import and admin."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from server.config import Settings

log = logging.getLogger("nappatzim")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        for item in error.errors(include_url=False):
            message = str(item["msg"]).removeprefix("Value error, ")
            field = ".".join(str(p) for p in item["loc"])
            prefix = f"{field.upper()}: " if field else ""
            sys.stderr.write(f"invalid configuration: {prefix}{message}\n")
        return 2
    configure_logging(settings.log_level)
    return int(args.run(settings, args) or 0)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _serve(settings: Settings, args: argparse.Namespace) -> int:

    from server.app import create_app

    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    if settings.embedded or args.migrate:
        _migrate(settings, args)
    app = create_app(settings)
    app.on_startup.append(_freeze_heap)
    try:
        _run_app(app, host, port)
    except OSError as error:
        # A busy port or a host name that does not resolve: the cause is in the message.
        sys.stderr.write(f"cannot listen on {host}:{port}: {error.strerror or error}\n")
        return 1
    return 0


def _run_app(app: Any, host: str, port: int) -> None:
    from aiohttp import web

    web.run_app(
        app,
        host=host,
        port=port,
        shutdown_timeout=5,
        access_log=None,
        print=lambda message: log.info(message.strip()),
    )


async def _freeze_heap(_app: Any) -> None:
    """Exempt the objects made while starting from garbage collection.

    Modules, the ORM's mappings and the app's routes live as long as the process. Frozen,
    they are no longer scanned by every full collection that request garbage sets off.
    """
    gc.collect()
    gc.freeze()


def _worker(settings: Settings, _args: argparse.Namespace) -> int:
    from tasks.worker import run_worker

    if settings.redis_url is None:
        sys.stderr.write("nappatzim worker needs REDIS_URL: without it, serve runs jobs itself\n")
        return 2
    asyncio.run(run_worker(settings))
    return 0


def _scheduler(settings: Settings, _args: argparse.Namespace) -> int:
    from tasks.scheduler import run_scheduler

    if settings.redis_url is None:
        sys.stderr.write(
            "nappatzim scheduler needs REDIS_URL: without it, serve runs jobs itself\n"
        )
        return 2
    asyncio.run(run_scheduler(settings))
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    if settings.embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url, schema=settings.database_schema)
    log.info("database schema is up to date")
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from tasks.formats import check_options
    from tasks.importer import import_file_command

    problem = check_options(args.format, args.unit)
    if problem is not None:
        sys.stderr.write(f"nappatzim import: {problem}\n")
        return 2
    return asyncio.run(
        import_file_command(
            settings, path=args.file, email=args.user, fmt=args.format, unit=args.unit
        )
    )


def _admin(settings: Settings, args: argparse.Namespace) -> int:
    if settings.embedded:
        _migrate(settings, args)
    role = "admin" if args.action == "grant" else "user"
    return asyncio.run(_set_role(settings, email=args.email, role=role))


async def _set_role(settings: Settings, *, email: str, role: str) -> int:
    from storage import users
    from storage.db import Database

    db = Database(settings.sqlalchemy_url, schema=settings.database_schema)
    try:
        async with db.transaction() as session:
            found = await users.set_user_role(session, email=email.strip().lower(), role=role)
    finally:
        await db.dispose()
    if not found:
        sys.stderr.write(f"user not found: {email}. Register the account first.\n")
        return 1
    sys.stdout.write(f"{email} now has the role {role}\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    from tasks.formats import FORMATS, LOAD_UNITS

    parser = argparse.ArgumentParser(
        prog="nappatzim",
        description="Nappatzim workout-tracking server. Settings come from environment variables.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP and Socket.IO server")
    serve.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: PORT or 8000)")
    serve.add_argument(
        "--migrate", action="store_true", help="apply database migrations before serving"
    )
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="run background jobs from the Redis queue")
    worker.set_defaults(run=_worker)

    scheduler = commands.add_parser("scheduler", help="send periodic jobs to the queue")
    scheduler.set_defaults(run=_scheduler)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(run=_migrate)

    imports = commands.add_parser("import", help="import an export file into a user's account")
    imports.add_argument("file", help="path of the export file")
    imports.add_argument("--format", required=True, choices=FORMATS, help="file format")
    imports.add_argument(
        "--unit",
        choices=LOAD_UNITS,
        help="load unit the file was exported in: required for strong; hevy and fitnotes "
        "files name it, and use this only where they do not",
    )
    imports.add_argument("--user", required=True, help="email of the account to import into")
    imports.set_defaults(run=_import)

    admin = commands.add_parser(
        "admin", help="give an account the admin role of the job dashboard, or take it away"
    )
    admin.add_argument(
        "action", choices=["grant", "revoke"], help="grant sets the role admin, revoke sets user"
    )
    admin.add_argument("email", help="email of the account")
    admin.set_defaults(run=_admin)
    return parser


if __name__ == "__main__":
    sys.exit(main())
