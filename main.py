"""Entry point: serve HTTP, migrate, create staff users and API clients, run background jobs,
import 1C files."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Awaitable, Callable

from config import Settings, SettingsError, load_settings

log = logging.getLogger("shop.main")

COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {}
# Only the HTTP server signs tokens and takes payments: the other commands need no such secrets.
SERVING_COMMANDS = frozenset({"serve"})
PARSER_SETUP: list[Callable[[argparse._SubParsersAction], None]] = []


def command(name: str):
    def decorator(function):
        COMMANDS[name] = function
        return function

    return decorator


def run_with_db(settings: Settings, job: Callable[..., Awaitable[int]]) -> int:
    """Run `job(db)` on a fresh engine (migrated first, as `serve` does) and dispose it."""
    from sqlalchemy.exc import DBAPIError

    from db.engine import Database
    from db.migrate import upgrade

    if settings.auto_migrate:
        upgrade(settings.DATABASE_URL)

    async def runner() -> int:
        db = Database(settings.DATABASE_URL, pool_size=2)
        try:
            return await job(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(runner())
    except DBAPIError as exc:
        print(
            f"database error ({type(exc.orig).__name__}); "
            "is it reachable and migrated (python main.py migrate)?",
            file=sys.stderr,
        )
        return 2


def _port_taken(host: str, port: int) -> str | None:
    """Why HOST:PORT cannot be listened on, or None when it can."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return exc.strerror
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.strerror
    return None


def _pending_migrations(settings: Settings) -> list[str] | None:
    """The revisions the database lacks; None when it cannot be reached now."""
    from db.engine import Database
    from db.migrate import pending_revisions

    async def ask() -> list[str]:
        db = Database(settings.DATABASE_URL, pool_size=1)
        try:
            return await asyncio.wait_for(pending_revisions(db.engine), 10)
        finally:
            await db.dispose()

    try:
        return asyncio.run(ask())
    except Exception as exc:
        log.warning("migration state not known at start: %s", type(exc).__name__)
        return None


@command("serve")
def serve(settings: Settings, args: argparse.Namespace) -> int:
    problem = _port_taken(settings.HOST, settings.PORT)
    if problem:
        print(
            f"error: cannot listen on {settings.HOST}:{settings.PORT}: {problem}", file=sys.stderr
        )
        return 2
    from helpers.metrics_dir import MetricsDir

    metrics_dir = MetricsDir(settings.METRICS_DIR, settings.WORKERS)
    try:
        return _serve(settings)
    finally:
        metrics_dir.remove()


def _serve(settings: Settings) -> int:
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from db.migrate import upgrade
    from transport.app import create_app_from_env

    if settings.auto_migrate:
        upgrade(settings.DATABASE_URL)
    elif pending := _pending_migrations(settings):
        print(
            f"error: the database lacks migrations {', '.join(pending)}; "
            "run python main.py migrate or set AUTO_MIGRATE=true",
            file=sys.stderr,
        )
        return 2
    loader = AppLoader(factory=create_app_from_env)
    app = loader.load()
    if settings.WORKERS > 1 and not settings.REDIS_URL:
        log.warning(
            "REDIS_URL is not set: each of the %d workers counts the rate limits alone",
            settings.WORKERS,
        )
    app.prepare(
        host=settings.HOST,
        port=settings.PORT,
        workers=settings.WORKERS,
        single_process=settings.WORKERS == 1,
        motd=False,
    )
    try:
        if settings.WORKERS == 1:
            # One process owns the socket: on SIGTERM it stops accepting at once, and there is
            # no worker manager to race with a signal that arrives during start-up.
            Sanic.serve_single(primary=app)
        else:
            Sanic.serve(primary=app, app_loader=loader)
    except OSError as exc:
        print(f"error: cannot serve on {settings.HOST}:{settings.PORT}: {exc}", file=sys.stderr)
        return 2
    return 0


@command("migrate")
def migrate(settings: Settings, args: argparse.Namespace) -> int:
    from db.migrate import upgrade

    upgrade(settings.DATABASE_URL)
    print("database is up to date")
    return 0


@command("create-admin")
def create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from services.staff_users import create_or_reset_admin

    password = args.password or os.environ.get("ADMIN_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print(
                "error: no terminal to ask for the password; pass --password or set ADMIN_PASSWORD",
                file=sys.stderr,
            )
            return 2
        try:
            password = getpass.getpass("Password: ")
        except (EOFError, KeyboardInterrupt):
            print("\nerror: no password given", file=sys.stderr)
            return 2
    if not password or len(password.encode()) > 72:
        print("error: the password must be 1 to 72 bytes", file=sys.stderr)
        return 2

    async def job(db) -> int:
        async with db.begin() as session:
            user, created = await create_or_reset_admin(
                session,
                settings.BCRYPT_ROUNDS,
                args.login,
                password,
                args.first_name,
                args.last_name,
            )
        print(f"staff user {user.login} (id {user.id}) {'created' if created else 'reset'}")
        return 0

    return run_with_db(settings, job)


@command("create-api-client")
def create_api_client(settings: Settings, args: argparse.Namespace) -> int:
    from services.api_clients import create_api_client as create
    from services.errors import DomainError

    async def job(db) -> int:
        try:
            async with db.begin() as session:
                client, api_key = await create(session, args.name, args.admin)
        except DomainError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        print(f"API client {client.name} (id {client.id}) key: {api_key}")
        return 0

    return run_with_db(settings, job)


@command("deactivate-api-client")
def deactivate_api_client(settings: Settings, args: argparse.Namespace) -> int:
    from services.api_clients import deactivate_api_client as deactivate
    from services.errors import DomainError

    async def job(db) -> int:
        try:
            async with db.begin() as session:
                client = await deactivate(session, args.name)
        except DomainError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        print(f"API client {client.name} deactivated")
        return 0

    return run_with_db(settings, job)


@command("import-customers")
def import_customers(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from services.errors import DomainError
    from services.legacy_import import import_customers as run_import

    async def job(db) -> int:
        try:
            report = await run_import(db, settings, args.dry_run)
        except DomainError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        print(json.dumps(report, ensure_ascii=False))
        return 0

    return run_with_db(settings, job)


@command("import-commerceml")
def import_commerceml(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from services.commerceml import import_commerceml_file
    from services.errors import DomainError

    files = [Path(name) for name in args.files]
    for path in files:
        if not path.is_file():
            print(f"error: {path}: no such file", file=sys.stderr)
            return 2

    async def job(db) -> int:
        for path in files:
            printed = [0]

            def progress(done: int, path=path, printed=printed) -> None:
                if done // 1000 > printed[0] // 1000:
                    print(f"{path.name}: {done} items", flush=True)
                printed[0] = done

            try:
                async with db.begin() as session:
                    report = await import_commerceml_file(
                        session, settings, path, progress=progress
                    )
            except DomainError as exc:
                print(f"error: {path.name}: {exc.message}", file=sys.stderr)
                return 2
            changes = ", ".join(f"{key} {value}" for key, value in report.counts.items() if value)
            print(f"{path.name}: {report.kind} imported: {changes or 'nothing to do'}", flush=True)
        return 0

    return run_with_db(settings, job)


@command("dispatch")
def dispatch(settings: Settings, args: argparse.Namespace) -> int:
    import logging.config
    import signal

    from background.dispatcher import build_dispatcher
    from helpers.alerts import AlertQueue
    from helpers.broker import EventPublisher
    from helpers.logs import log_config
    from helpers.sberbank import SberbankGateway

    logging.config.dictConfig(log_config(settings.LOG_LEVEL))

    async def job(db) -> int:
        broker = None
        if settings.BROKER_URL:
            broker = EventPublisher(settings.BROKER_URL, settings.EVENTS_EXCHANGE)
        gateway = SberbankGateway(settings)
        dispatcher = build_dispatcher(db, settings, broker, AlertQueue(), gateway)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, dispatcher.stop)
        try:
            await dispatcher.run_forever()
        finally:
            await dispatcher.close()
            await gateway.close()
            if broker is not None:
                await broker.close()
        return 0

    return run_with_db(settings, job)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="Vinterr shop backend")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve HTTP (default)")
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("dispatch", help="run the outbox dispatcher alone")
    legacy = sub.add_parser("import-customers", help="import customers from LEGACY_DB_URL")
    legacy.add_argument("--dry-run", action="store_true")
    onec = sub.add_parser(
        "import-commerceml", help="import 1C CommerceML files (import.xml, offers.xml, ...)"
    )
    onec.add_argument("files", nargs="+", metavar="FILE", help="imported in this order")
    admin = sub.add_parser("create-admin", help="create or reset a staff user")
    admin.add_argument("--login", required=True)
    admin.add_argument("--password")
    admin.add_argument("--first-name", default="Admin")
    admin.add_argument("--last-name", default="")
    client = sub.add_parser("create-api-client", help="create an API client and print its key")
    client.add_argument("--name", required=True)
    client.add_argument("--admin", action="store_true")
    deactivate = sub.add_parser("deactivate-api-client", help="deactivate an API client")
    deactivate.add_argument("--name", required=True)
    for setup in PARSER_SETUP:
        setup(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    name = args.command or "serve"
    try:
        settings = load_settings(serving=name in SERVING_COMMANDS)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return COMMANDS[name](settings, args)


if __name__ == "__main__":
    sys.exit(main())
