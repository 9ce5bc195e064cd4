"""Application factory: builds the Sanic app from settings, with an optional injected database."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import pkgutil
from collections import defaultdict

from sanic import Blueprint, Request, Sanic
from sanic.response import empty
from sanic.response.types import HEADER_TRANSLATION_TABLE, BaseHTTPResponse

from background.dispatcher import build_dispatcher
from background.onec_imports import ImportRunner
from config import Settings, load_settings
from db.engine import Database
from helpers import metrics
from helpers.alerts import AlertQueue
from helpers.broker import EventPublisher
from helpers.logs import log_config
from helpers.sberbank import SberbankGateway
from helpers.telegram import TelegramClient
from services import images
from services.catalog_cache import CatalogCache
from services.health import MigrationState
from transport import endpoints
from transport.errors import ShopErrorHandler
from transport.limits import build_rate_limits
from transport.middleware import access_log, finish_request
from transport.routing import ROUTES
from transport.timeouts import ShopRequest, configure_timeouts

log = logging.getLogger("shop.app")
MIB = 1024 * 1024


def _sanitize_header_value(value: str) -> str:
    """Sanic's header sanitizer (CR, LF and NUL dropped) without walking its translation table
    through every value that holds none of them: each name and value of every response pays
    it, which measured as a tenth of a cached catalogue page."""
    if "\r" in value or "\n" in value or "\x00" in value:
        return value.translate(HEADER_TRANSLATION_TABLE)
    return value


BaseHTTPResponse._sanitize_header_value = staticmethod(_sanitize_header_value)


def create_app(settings: Settings, db: Database | None = None, name: str = "vinterr") -> Sanic:
    """A new app; with `db` given, the listeners use it and never create or dispose an engine."""
    app = Sanic(
        name,
        strict_slashes=False,
        log_config=log_config(settings.LOG_LEVEL),
        request_class=ShopRequest,
    )
    app.config.ACCESS_LOG = False
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.REQUEST_MAX_SIZE = (
        max(settings.UPLOAD_MAX_BYTES, settings.IMAGE_MAX_BYTES, settings.ONEC_FILE_LIMIT) + MIB
    )
    configure_timeouts(app, settings)
    app.config.PROXIES_COUNT = settings.PROXIES_COUNT
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = settings.GRACEFUL_SHUTDOWN_S
    if settings.REAL_IP_HEADER:
        app.config.REAL_IP_HEADER = settings.REAL_IP_HEADER
    app.ctx.settings = settings
    app.ctx.db = db
    app.ctx.owns_db = db is None
    app.ctx.rate_limits = build_rate_limits(settings)
    app.ctx.alerts = AlertQueue()
    app.ctx.broker = None
    app.ctx.dispatcher = None
    app.ctx.gateway = None
    app.ctx.onec_imports = None
    app.ctx.catalog_cache = CatalogCache()
    app.ctx.migrations = MigrationState()
    app.error_handler = ShopErrorHandler()
    app.register_middleware(finish_request, "response")
    _register_routes(app, settings)
    app.register_listener(_open_resources, "before_server_start")
    app.register_listener(_stop_dispatcher, "before_server_stop")
    app.register_listener(_close_resources, "after_server_stop")
    return app


def create_app_from_env() -> Sanic:
    """Factory used by the server's worker processes."""
    return create_app(load_settings())


def _import_endpoint_modules() -> None:
    for module in pkgutil.iter_modules(endpoints.__path__):
        importlib.import_module(f"{endpoints.__name__}.{module.name}")


def _register_routes(app: Sanic, settings: Settings) -> None:
    _import_endpoint_modules()
    by_module = defaultdict(list)
    methods_by_path: dict[str, set[str]] = defaultdict(set)
    for spec in ROUTES:
        if spec.module == "docs" and not settings.ENABLE_API_DOCS:
            continue
        by_module[spec.module].append(spec)
        methods_by_path[spec.path].update(spec.methods)
    for module, specs in sorted(by_module.items()):
        blueprint = Blueprint(module)
        for spec in specs:
            blueprint.add_route(
                spec.handler, spec.path, methods=list(spec.methods), name=spec.name, ctx_spec=spec
            )
        app.blueprint(blueprint)
    for index, (path, methods) in enumerate(sorted(methods_by_path.items())):
        app.add_route(_options_handler(methods), path, methods=["OPTIONS"], name=f"options_{index}")


def _options_handler(methods: set[str]):
    allow = ", ".join(sorted(methods | {"OPTIONS"}))

    async def options(request: Request, **_params):
        return empty(status=204, headers={"Allow": allow})

    return options


async def _open_resources(app: Sanic) -> None:
    settings = app.ctx.settings
    if app.ctx.db is None:
        app.ctx.db = Database(settings.DATABASE_URL, pool_size=settings.DB_POOL_SIZE)
    await app.ctx.migrations.refresh(app.ctx.db)
    await _finish_interrupted_uploads(app)
    app.ctx.onec_imports = ImportRunner(app.ctx.db, settings)
    app.ctx.gateway = SberbankGateway(settings)
    if settings.TELEGRAM_TOKEN and settings.TELEGRAM_ERRORS_CHAT_ID:
        app.ctx.alerts_client = TelegramClient(
            settings.TELEGRAM_API_BASE, settings.TELEGRAM_TOKEN, settings.TELEGRAM_TIMEOUT_S
        )
        chat = settings.TELEGRAM_ERRORS_CHAT_ID
        app.ctx.alerts = AlertQueue(lambda text: app.ctx.alerts_client.send_message(chat, text))
        app.ctx.alerts.start()
    if settings.BROKER_URL:
        app.ctx.broker = EventPublisher(settings.BROKER_URL, settings.EVENTS_EXCHANGE)
        try:
            await app.ctx.broker.start()
        except Exception as exc:
            log.warning("broker unreachable at start-up (%s); events wait in the outbox", exc)
    # Start-up leaves some 140,000 objects (modules, routes, schemas) that live as long as the
    # worker: kept out of the collector's sight, a full collection no longer walks them all,
    # which on a busy worker stalled requests for tens of milliseconds every few seconds.
    gc.freeze()
    if settings.DISPATCHER_IN_SERVER:
        app.ctx.dispatcher = build_dispatcher(
            app.ctx.db, settings, app.ctx.broker, app.ctx.alerts, app.ctx.gateway
        )
        # Not a Sanic app task: Sanic cancels those at shutdown without running the loop, so
        # one busy sending would keep the worker from exiting.
        app.ctx.dispatcher.start()


async def _finish_interrupted_uploads(app: Sanic) -> None:
    try:
        async with app.ctx.db.begin() as session:
            await images.finish_interrupted_uploads(session, app.ctx.settings.MEDIA_ROOT)
    except Exception as exc:
        log.warning("interrupted uploads not checked at start-up (%s)", type(exc).__name__)


async def _stop_dispatcher(app: Sanic) -> None:
    """The dispatcher takes no new batch; the one in hand goes on while requests drain."""
    app.ctx.stopping_at = asyncio.get_running_loop().time()
    if app.ctx.dispatcher is not None:
        app.ctx.dispatcher.stop()


async def _close_resources(app: Sanic) -> None:
    access_log.flush()
    if app.ctx.dispatcher is not None:
        elapsed = asyncio.get_running_loop().time() - getattr(app.ctx, "stopping_at", 0.0)
        await app.ctx.dispatcher.shutdown(max(app.ctx.settings.GRACEFUL_SHUTDOWN_S - elapsed, 0))
        await app.ctx.dispatcher.close()
    if app.ctx.onec_imports is not None:
        await app.ctx.onec_imports.shutdown()
    await app.ctx.alerts.stop()
    if app.ctx.gateway is not None:
        await app.ctx.gateway.close()
    if getattr(app.ctx, "alerts_client", None) is not None:
        await app.ctx.alerts_client.close()
    if app.ctx.broker is not None:
        await app.ctx.broker.close()
    await app.ctx.rate_limits.close()
    if app.ctx.owns_db and app.ctx.db is not None:
        await app.ctx.db.dispose()
        app.ctx.db = None
    metrics.process_exiting()
