"""Stock history routes: the movements of a variation's stock and reservation."""

from __future__ import annotations

from sanic import Request

from api.base import PageQuerySchema
from api.stock import StockMovementPageSchema
from services import stock
from transport.http import dump, load_query, transaction
from transport.routing import ADMIN, route


@route(
    "/variations/<variation_id:int>/stock_history",
    "GET",
    auth=ADMIN,
    query=PageQuerySchema,
    response=StockMovementPageSchema,
    errors=(400, 401, 403, 404),
    summary="Movements of a variation's stock and reservation, newest first (paged)",
)
async def stock_history(request: Request, variation_id: int):
    page = load_query(request, PageQuerySchema)
    async with transaction(request) as session:
        movements, count = await stock.stock_history(
            session, variation_id, page["limit"], page["offset"]
        )
    return dump(StockMovementPageSchema, {"items": movements, "count": count})
