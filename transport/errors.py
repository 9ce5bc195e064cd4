"""The one place that turns exceptions into the contract's JSON error bodies."""

from __future__ import annotations

import logging
from typing import Any

from marshmallow import ValidationError
from sanic import Request
from sanic.exceptions import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestCancelled,
    RequestTimeout,
    SanicException,
    ServiceUnavailable,
)
from sanic.handlers import ErrorHandler
from sanic.response import HTTPResponse, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.base import flatten_errors
from services.errors import DomainError, TooManyRequests, ValidationFailed
from transport.http import reply

log = logging.getLogger("shop.errors")

# The client hung up before the answer (nginx's code): its doing, not a server error.
CLIENT_CLOSED_REQUEST = 499
PLAIN_TEXT = "text/plain; charset=utf-8"
BASIC_REALM = "1C exchange"


class ShopErrorHandler(ErrorHandler):
    """Every error of every route, Sanic's own included, gets the contract's body."""

    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        return error_response(request, exception)


def _body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, "error_code": status, **extra}


def error_response(request: Request | None, exc: Exception) -> HTTPResponse:
    status, body, headers = _describe(request, exc)
    spec = getattr(getattr(request, "ctx", None), "route_spec", None)
    if spec is not None and spec.error_detail:
        body["detail"] = body["message"]
    if status >= 500:
        request_id = getattr(getattr(request, "ctx", None), "request_id", None)
        body["request_id"] = request_id
        _report_server_error(request, exc, status, request_id)
    if spec is not None and spec.plain_text:
        return _plain_failure(status, body, headers)
    return reply(body, status=status, headers=headers)


def _plain_failure(status: int, body: dict, headers: dict) -> HTTPResponse:
    """The 1C exchange's form: `failure`, then the reason on the second line."""
    reason = body["message"]
    if body.get("fields"):
        problems = "; ".join(
            f"{name}: {' '.join(errors)}" for name, errors in body["fields"].items()
        )
        reason = f"{reason}: {problems}"
    if status == 401:
        headers = {**headers, "WWW-Authenticate": f'Basic realm="{BASIC_REALM}"'}
    reason = " ".join(reason.split())
    return text(f"failure\n{reason}", status=status, headers=headers, content_type=PLAIN_TEXT)


def _describe(request: Request | None, exc: Exception) -> tuple[int, dict, dict]:
    spec = getattr(getattr(request, "ctx", None), "route_spec", None)
    if isinstance(exc, ValidationError):
        status = spec.validation_status if spec else 400
        fields = flatten_errors(exc.messages)
        return status, _body(status, "Validation error", fields=fields), {}
    if isinstance(exc, ValidationFailed):
        status = spec.validation_status if spec else 400
        return status, _body(status, exc.message, fields=exc.fields), {}
    if isinstance(exc, TooManyRequests):
        body = _body(429, exc.message, retry_after=exc.retry_after)
        return 429, body, {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, DomainError):
        body = _body(exc.status, exc.message, **exc.extra)
        if getattr(exc, "fields", None):
            body["fields"] = exc.fields
        return exc.status, body, {}
    if isinstance(exc, IntegrityError):
        log.info("integrity conflict: %s", type(exc.orig).__name__ if exc.orig else "")
        return 409, _body(409, "Conflict"), {}
    if (
        isinstance(exc, ConnectionError)
        or _sqlstate(exc)[:2] in ("08", "53", "57")
        or (isinstance(exc, DBAPIError) and exc.connection_invalidated)
    ):
        log.warning("database unreachable: %s", type(exc).__name__)
        return 503, _body(503, "Service unavailable"), {"Retry-After": "5"}
    if isinstance(exc, DBAPIError) and _sqlstate(exc).startswith("40"):
        log.warning("transaction rolled back by the database: %s", _sqlstate(exc))
        return 503, _body(503, "Service unavailable"), {"Retry-After": "1"}
    if isinstance(exc, DBAPIError) and _refused_value(exc):
        log.warning("database refused a value: %s", _sqlstate(exc) or "encode")
        return 400, _body(400, "Invalid value"), {}
    if isinstance(exc, OperationalError | PoolTimeout):
        return 503, _body(503, "Service unavailable"), {}
    return _describe_sanic(exc)


def _refused_value(exc: DBAPIError) -> bool:
    """A value the database cannot take (SQLSTATE class 22) or the driver cannot encode.

    Validation should have caught it first; this keeps a missed case a 400 rather than a 500.
    """
    return _sqlstate(exc).startswith("22") or isinstance(exc.orig.__cause__, ValueError)


def _sqlstate(exc: Exception) -> str:
    """PostgreSQL's error code (class 40: deadlock or serialisation failure, a retry helps).

    A failed connect raises the driver's own error, not wrapped in DBAPIError (e.g. 57P03
    while the server shuts down or starts up)."""
    source = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(source, "sqlstate", None)
    return code if isinstance(code, str) else ""


def _describe_sanic(exc: Exception) -> tuple[int, dict, dict]:
    if isinstance(exc, RequestCancelled):
        return CLIENT_CLOSED_REQUEST, _body(CLIENT_CLOSED_REQUEST, "Client closed request"), {}
    if isinstance(exc, MethodNotAllowed):
        return 405, _body(405, "Method not allowed"), {}
    if isinstance(exc, NotFound):
        return 404, _body(404, "Not found"), {}
    if isinstance(exc, PayloadTooLarge):
        return 413, _body(413, "Request body too large"), {}
    if isinstance(exc, BadRequest):
        return 400, _body(400, "Bad request"), {}
    if isinstance(exc, RequestTimeout):
        return 408, _body(408, "Request timeout"), {}
    if isinstance(exc, ServiceUnavailable):
        return 503, _body(503, "Service unavailable"), {}
    if isinstance(exc, SanicException) and 400 <= exc.status_code < 500:
        return exc.status_code, _body(exc.status_code, str(exc) or "Bad request"), {}
    return 500, _body(500, "Internal server error"), {}


def _report_server_error(
    request: Request | None, exc: Exception, status: int, request_id: str | None
) -> None:
    route = getattr(getattr(request, "route", None), "path", None) or "unmatched"
    method = getattr(request, "method", "-")
    log.error(
        "server error %s on %s %s",
        status,
        method,
        route,
        exc_info=exc if status == 500 else None,
        extra={"request_id": request_id, "status": status},
    )
    alerts = getattr(getattr(getattr(request, "app", None), "ctx", None), "alerts", None)
    if alerts is not None:
        alerts.server_error(status, method, route, request_id, exc)
