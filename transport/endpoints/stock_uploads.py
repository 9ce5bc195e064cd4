"""1C uploads: Excel remains, Excel weights and JSON remains (admin or an admin API client)."""

from __future__ import annotations

from sanic import Request

from api.base import load
from api.stock_uploads import JsonRemainsSchema, RemainsResultSchema, WeightsResultSchema
from services import stock_uploads
from services.errors import ValidationFailed
from transport.http import actor, dump, json_body, transaction
from transport.routing import ADMIN, route


def _excel_file(request: Request) -> bytes:
    upload = request.files.get("file") if request.files else None
    if upload is None:
        raise ValidationFailed({"file": ["Missing data for required field."]})
    return upload.body


@route(
    "/variations/update_remains",
    "POST",
    auth=ADMIN,
    long_running=True,
    status=200,
    body_limit="UPLOAD_MAX_BYTES",
    content="multipart/form-data",
    response=RemainsResultSchema,
    errors=(400, 401, 403, 413),
    summary="Upload the 1C remains report (.xlsx)",
)
async def upload_excel_remains(request: Request):
    content = _excel_file(request)
    async with transaction(request) as session:
        result = await stock_uploads.upload_excel_remains(
            session, request.app.ctx.settings, content, actor(request)
        )
    return dump(RemainsResultSchema, result)


@route(
    "/goods/update_weights",
    "POST",
    auth=ADMIN,
    long_running=True,
    status=200,
    body_limit="UPLOAD_MAX_BYTES",
    content="multipart/form-data",
    response=WeightsResultSchema,
    errors=(400, 401, 403, 413),
    summary="Upload the 1C weights report (.xlsx)",
)
async def upload_weights(request: Request):
    content = _excel_file(request)
    async with transaction(request) as session:
        result = await stock_uploads.upload_weights(session, request.app.ctx.settings, content)
    return dump(WeightsResultSchema, result)


@route(
    "/variations/auto_update_remains",
    "POST",
    auth=ADMIN,
    long_running=True,
    body=JsonRemainsSchema,
    body_limit="UPLOAD_MAX_BYTES",
    response=RemainsResultSchema,
    errors=(400, 401, 403, 413),
    summary="Upload remains as JSON (a bare array is accepted too)",
)
async def upload_json_remains(request: Request):
    body = json_body(request)
    data = load(JsonRemainsSchema(), {"variations_data": body} if isinstance(body, list) else body)
    async with transaction(request) as session:
        result = await stock_uploads.upload_json_remains(
            session,
            request.app.ctx.settings,
            data["variations_data"],
            data["full_report"],
            actor(request),
        )
    return dump(RemainsResultSchema, result)
