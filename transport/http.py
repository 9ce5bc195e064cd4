"""Small request/response helpers shared by every endpoint module."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

import ujson
from marshmallow import Schema, fields
from sanic import Request
from sanic.response import HTTPResponse, empty, raw
from sanic.response import json as json_response
from sqlalchemy.ext.asyncio import AsyncSession

from api.base import load
from api.dumping import dumper
from db.direct import DirectReads
from services.errors import DomainError, NulCharacter
from services.stock import SYSTEM, Actor

# Bodies from this size on are written apart from their header (see `reply_bytes`); below it
# the extra write costs more than the copy it saves.
WRITTEN_APART_FROM_BYTES = 256 * 1024


class InvalidJSON(DomainError):
    def __init__(self):
        super().__init__("Invalid JSON body")


def dumps(value: Any) -> str:
    """Compact JSON, as json.dumps(ensure_ascii=False) writes it, by ujson (Sanic's own JSON
    library) at a fraction of the time."""
    return ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range")
    return number


def _holds_nul(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def json_body(request: Request) -> Any:
    """The parsed JSON body, None when there is none; malformed JSON -> 400 Invalid JSON body.

    NaN, Infinity and floats out of range are refused; so is a NUL, which no text column stores.
    """
    if not request.body:
        return None
    try:
        value = json.loads(request.body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidJSON() from None
    if b"\\u0000" in request.body and _holds_nul(value):
        raise NulCharacter()
    return value


SchemaLike = Schema | type[Schema]


@cache
def _schema(schema_class: type[Schema]) -> Schema:
    # Building a schema deep-copies its fields; one instance per class serves every request.
    return schema_class()


def schema_instance(schema: SchemaLike) -> Schema:
    return _schema(schema) if isinstance(schema, type) else schema


def load_body(request: Request, schema: SchemaLike, partial: bool = False) -> dict:
    return load(schema_instance(schema), json_body(request), partial=partial)


def query_dict(request: Request, schema: SchemaLike) -> dict[str, Any]:
    """Query args as a dict: list fields get every value, others the first one."""
    schema = schema_instance(schema)
    data: dict[str, Any] = {}
    for key, values in request.args.items():
        if _holds_nul([key, values]):
            raise NulCharacter()
        field = schema.fields.get(key)
        data[key] = values if isinstance(field, fields.List) else values[0]
    return data


def load_query(request: Request, schema: SchemaLike) -> dict:
    schema = schema_instance(schema)
    return schema.load(query_dict(request, schema))


def request_session(request: Request) -> AsyncSession:
    """The request's session, opened on first use; auth and the handler share its connection.

    A read-only route (transport.routing.RouteSpec.reads_only) gets a read-only session."""
    session = getattr(request.ctx, "session", None)
    if session is None:
        db = request.app.ctx.db
        session = db.read_session() if _reads_only(request) else db.session()
        request.ctx.session = session
    return session


def request_reads(request: Request) -> AsyncSession | DirectReads:
    """Where the request's PreparedReads run: straight on asyncpg for a route declared
    `direct_reads` (transport.routing.RouteSpec) on PostgreSQL, the request's session otherwise."""
    reads = getattr(request.ctx, "direct_reads", None)
    if reads is not None:
        return reads
    spec = getattr(request.ctx, "route_spec", None)
    if spec is not None and spec.direct_reads:
        reads = request.app.ctx.db.direct_reads()
        if reads is not None:
            request.ctx.direct_reads = reads
            return reads
    return request_session(request)


def _reads_only(request: Request) -> bool:
    spec = getattr(request.ctx, "route_spec", None)
    return spec is not None and spec.reads_only


def holds_connection(request: Request) -> bool:
    """Whether the request opened a session or direct reads that `close_request_session` ends."""
    ctx = request.ctx
    return (
        getattr(ctx, "direct_reads", None) is not None or getattr(ctx, "session", None) is not None
    )


async def close_request_session(request: Request) -> None:
    reads = getattr(request.ctx, "direct_reads", None)
    if reads is not None:
        request.ctx.direct_reads = None
        await reads.close()
    session = getattr(request.ctx, "session", None)
    if session is not None:
        request.ctx.session = None
        await session.close()


@asynccontextmanager
async def transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction: committed when the block ends, rolled back on error.

    It goes on from the auth check's reads on the same connection, so an authenticated
    request pays one BEGIN and one COMMIT in all; a read-only route pays neither on PostgreSQL,
    and a `direct_reads` route yields its direct reads there (db/direct.py).
    """
    session = request_reads(request)
    if isinstance(session, DirectReads):
        yield session
        return
    try:
        yield session
    except BaseException:
        await session.rollback()
        raise
    if not _reads_only(request):
        await session.commit()


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    return json_response(data, status=status, headers=headers, dumps=dumps)


def dump(
    schema: type[Schema], obj: Any, status: int = 200, many: bool = False, **kwargs: Any
) -> HTTPResponse:
    """The response `schema` makes of `obj` (compiled once per schema, see api/dumping.py)."""
    return reply(dumper(schema, many)(obj), status=status, **kwargs)


def accepts_gzip(request: Request) -> bool:
    """Whether the request's Accept-Encoding names gzip without refusing it (q=0)."""
    for item in request.headers.get("accept-encoding", "").split(","):
        coding, _, weight = item.partition(";")
        if coding.strip().lower() != "gzip":
            continue
        weight = weight.strip().lower()
        if not weight.startswith("q="):
            return True
        try:
            return float(weight[2:]) > 0
        except ValueError:
            return False
    return False


@cache
def renderer(schema: type[Schema], many: bool = False) -> Callable[[Any], bytes]:
    """The body `dump(schema, obj)` would send, for a service that keeps bodies (made once per
    schema: the routes that keep bodies ask for it on every request)."""
    shape = dumper(schema, many)
    return lambda obj: dumps(shape(obj)).encode()


async def reply_bytes(
    request: Request, body: bytes, content_type: str, headers: dict[str, str]
) -> HTTPResponse | None:
    """`body` as a 200 answer. A large one is written after its header instead of behind it:
    Sanic sends a response as its header and body joined into one new bytes object, a copy
    that took a fifth of the worker's CPU for the megabyte of the whole catalogue. Returns
    None when it has answered, so the caller must be checked before (a public route, or one
    whose caller check ran with its first read)."""
    if len(body) < WRITTEN_APART_FROM_BYTES:
        return raw(body, content_type=content_type, headers=headers)
    response = await request.respond(
        headers={**headers, "content-length": str(len(body))}, content_type=content_type
    )
    await response.send(b"")
    await response.send(body, end_stream=True)
    return None


def reply_body(body: bytes, status: int = 200) -> HTTPResponse:
    """A JSON body already written (by `renderer`)."""
    return raw(body, status=status, content_type="application/json")


def no_content() -> HTTPResponse:
    return empty(status=204)


def principal(request: Request):
    return request.ctx.principal


def actor(request) -> Actor:
    """The caller as the actor of a stock change; routes without a caller act as the shop."""
    caller = request.ctx.principal
    return Actor(caller.kind, caller.id) if caller is not None else SYSTEM
