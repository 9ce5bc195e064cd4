"""The 1C exchange (CommerceML 2 protocol) at `/1c_exchange` and the Bitrix path 1C setups
use, answered in the protocol's plain text; and the exchange log for staff."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, raw, text

from api.onec_exchanges import (
    EXCHANGE_MODES,
    EXCHANGE_TYPES,
    ExchangeLogQuerySchema,
    ExchangePageSchema,
    ExchangeQuerySchema,
)
from helpers import metrics
from services import onec_exchange, onec_imports, onec_orders
from services.errors import DomainError, ImportFailed, RuleViolation
from transport.http import close_request_session, dump, load_query, transaction
from transport.routing import ADMIN, BASIC_1C, route

PLAIN = "text/plain; charset=utf-8"
XML = "text/xml; charset=utf-8"


def _plain(body: str) -> HTTPResponse:
    return text(body, content_type=PLAIN)


def _count(request: Request, response: HTTPResponse) -> None:
    kind, mode = request.args.get("type"), request.args.get("mode")
    result = "success"
    if response.status >= 400:
        result = "failure"
    elif (response.body or b"").startswith(b"progress"):
        result = "progress"
    metrics.onec_exchange_requests_total.labels(
        kind if kind in EXCHANGE_TYPES else "other",
        mode if mode in EXCHANGE_MODES else "other",
        result,
    ).inc()


_EXCHANGE = {
    "auth": BASIC_1C,
    "query": ExchangeQuerySchema,
    "content": "application/octet-stream",
    "answers": PLAIN,
    "body_limit": "ONEC_FILE_LIMIT",
    "long_running": True,
    # checkauth, init, import, query and success come as GETs and write the exchange's rows.
    "writes": True,
    "observe": _count,
    "errors": (400, 401, 404, 413, 503),
    "extra": {"other_answers": (XML,)},
    "summary": "1C exchange (CommerceML 2): checkauth, init, file, import, query, success; "
    "plain-text answers, `failure\\n<reason>` on errors, XML for mode=query",
}


@route("/1c_exchange", "GET", "POST", **_EXCHANGE)
async def exchange(request: Request):
    return await _exchange(request)


@route("/bitrix/admin/1c_exchange.php", "GET", "POST", **_EXCHANGE)
async def bitrix_exchange(request: Request):
    return await _exchange(request)


async def _exchange(request: Request) -> HTTPResponse:
    call = load_query(request, ExchangeQuerySchema)
    onec_session = getattr(request.ctx, "onec_session", None)
    session_id = onec_session.id if onec_session is not None else None
    try:
        answer = _MODES.get((call["type"], call["mode"]))
        if answer is None:
            raise RuleViolation(f"Mode {call['mode']} is not supported for type {call['type']}")
        return await answer(request, call)
    except DomainError as exc:
        # An import's failure is on its own row already.
        if session_id is not None and not isinstance(exc, ImportFailed):
            # The call's own transaction ends first: SQLite has one writer.
            await close_request_session(request)
            await onec_exchange.record_failure(
                request.app.ctx.db,
                session_id,
                call["type"],
                call["mode"],
                call.get("filename"),
                exc.message,
            )
        raise


async def _checkauth(request: Request, call: dict) -> HTTPResponse:
    async with transaction(request) as session:
        token = await onec_exchange.open_session(session, call["type"])
    return _plain(f"success\n{onec_exchange.COOKIE_NAME}\n{token}")


async def _init(request: Request, call: dict) -> HTTPResponse:
    async with transaction(request) as session:
        onec_exchange.record(session, request.ctx.onec_session.id, call["type"], "init")
    return _plain(f"zip=no\nfile_limit={request.app.ctx.settings.ONEC_FILE_LIMIT}")


async def _catalog_file(request: Request, call: dict) -> HTTPResponse:
    async with transaction(request) as session:
        await onec_exchange.store_chunk(
            session,
            request.app.ctx.settings,
            request.ctx.onec_session,
            "catalog",
            call.get("filename"),
            request.body or b"",
        )
    return _plain("success")


async def _catalog_import(request: Request, call: dict) -> HTTPResponse:
    app = request.app
    async with transaction(request) as session:
        step = await onec_imports.import_step(
            session,
            app.ctx.settings,
            request.ctx.onec_session,
            "catalog",
            call.get("filename"),
            app.ctx.onec_imports,
        )
    if step.outcome == "failure":
        raise ImportFailed(step.message)
    return _plain("success" if step.outcome == "success" else f"progress\n{step.message}")


async def _sale_file(request: Request, call: dict) -> HTTPResponse:
    async with transaction(request) as session:
        await onec_orders.receive_orders_file(
            session,
            request.app.ctx.settings,
            request.ctx.onec_session,
            call.get("filename"),
            request.body or b"",
        )
    return _plain("success")


async def _sale_import(request: Request, call: dict) -> HTTPResponse:
    """Newer 1C versions name the orders file again after `file`, which applied it already."""
    settings, onec_session = request.app.ctx.settings, request.ctx.onec_session
    onec_exchange.uploaded_file(settings, onec_session, call.get("filename"))
    return _plain("success")


async def _query(request: Request, call: dict) -> HTTPResponse:
    async with transaction(request) as session:
        document = await onec_orders.orders_to_export(
            session, request.app.ctx.settings, request.ctx.onec_session
        )
    return raw(document, content_type=XML)


async def _success(request: Request, call: dict) -> HTTPResponse:
    async with transaction(request) as session:
        await onec_orders.confirm_export(
            session, request.app.ctx.settings, request.ctx.onec_session
        )
    return _plain("success")


async def _finished(request: Request, call: dict) -> HTTPResponse:
    """`deactivate` / `complete` of newer 1C versions: nothing left to do."""
    async with transaction(request) as session:
        onec_exchange.record(session, request.ctx.onec_session.id, call["type"], call["mode"])
    return _plain("success")


_MODES = {
    **{(kind, "checkauth"): _checkauth for kind in EXCHANGE_TYPES},
    **{(kind, "init"): _init for kind in EXCHANGE_TYPES},
    **{(kind, "deactivate"): _finished for kind in EXCHANGE_TYPES},
    **{(kind, "complete"): _finished for kind in EXCHANGE_TYPES},
    ("catalog", "file"): _catalog_file,
    ("catalog", "import"): _catalog_import,
    ("sale", "file"): _sale_file,
    ("sale", "import"): _sale_import,
    ("sale", "query"): _query,
    ("sale", "success"): _success,
}


@route(
    "/1c_exchange/log",
    "GET",
    auth=ADMIN,
    query=ExchangeLogQuerySchema,
    response=ExchangePageSchema,
    errors=(400, 401, 403),
    summary="1C exchanges, newest first: each call, upload and import with its outcome and "
    "counts (optional filters `type`, `outcome`)",
)
async def exchange_log(request: Request):
    filters = load_query(request, ExchangeLogQuerySchema)
    async with transaction(request) as session:
        rows, count = await onec_exchange.list_exchanges(session, filters)
    return dump(ExchangePageSchema, {"items": rows, "count": count})
