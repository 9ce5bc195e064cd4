"""Marking code routes: the codes of an order line's labelled units ("Честный знак")."""

from __future__ import annotations

from sanic import Request

from api.marking_codes import LineMarkingCodesSchema, MarkingCodesSchema
from services import marking_codes
from transport.endpoints.orders import ORDER
from transport.http import dump, load_body, transaction
from transport.routing import ADMIN, route

LINE_CODES = f"{ORDER}/lines/<line_id:int>/marking_codes"


@route(
    LINE_CODES,
    "GET",
    auth=ADMIN,
    response=LineMarkingCodesSchema,
    errors=(401, 403, 404),
    summary="Marking codes of an order line's units",
)
async def read_line_codes(request: Request, order_id: int, line_id: int):
    async with transaction(request) as session:
        line = await marking_codes.line_codes(session, order_id, line_id)
    return dump(LineMarkingCodesSchema, line)


@route(
    LINE_CODES,
    "PUT",
    auth=ADMIN,
    body=MarkingCodesSchema,
    response=LineMarkingCodesSchema,
    errors=(400, 401, 403, 404, 409),
    summary="Set the marking codes of an order line's labelled units (replaces them; at most "
    "one per unit, each once in the order; the next payment receipt carries them)",
)
async def replace_line_codes(request: Request, order_id: int, line_id: int):
    data = load_body(request, MarkingCodesSchema)
    async with transaction(request) as session:
        line = await marking_codes.replace_line_codes(
            session, order_id, line_id, data["marking_codes"]
        )
    return dump(LineMarkingCodesSchema, line)
