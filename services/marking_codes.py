"""Marking codes of an order's labelled units: staff attach them to the order's lines, and the
next payment receipt of the order carries them."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Good, MarkingCode, OrderLine, Variation
from db.prepared import Extended
from services.errors import Conflict, NotFound, ValidationFailed
from services.orders import get_order


async def _line_and_good(session: AsyncSession, order_id: int, line_id: int):
    row = (
        await session.execute(
            select(OrderLine, Good.is_marked)
            .join(Variation, Variation.id == OrderLine.variation_id)
            .join(Good, Good.id == Variation.good_id)
            .where(OrderLine.id == line_id, OrderLine.order_id == order_id)
        )
    ).first()
    if row is None:
        raise NotFound("Order line not found")
    return row


async def _codes_of(session: AsyncSession, line_id: int) -> list[str]:
    rows = await session.scalars(
        select(MarkingCode.code).where(MarkingCode.line_id == line_id).order_by(MarkingCode.id)
    )
    return list(rows)


async def line_codes(session: AsyncSession, order_id: int, line_id: int) -> Extended:
    await get_order(session, order_id)
    line, _ = await _line_and_good(session, order_id, line_id)
    return Extended(line, marking_codes=await _codes_of(session, line_id))


async def replace_line_codes(
    session: AsyncSession, order_id: int, line_id: int, codes: list[str]
) -> Extended:
    """The line's codes become `codes` (one per unit, each once in the order)."""
    # The order's row lock makes concurrent edits of its lines take turns.
    await get_order(session, order_id, for_update=True)
    line, labelled = await _line_and_good(session, order_id, line_id)
    if not labelled and codes:
        raise Conflict("Good is not labelled")
    if len(codes) > line.amount:
        raise ValidationFailed(
            {"marking_codes": [f"More codes than units in the line ({line.amount})."]}
        )
    elsewhere = list(
        await session.scalars(
            select(MarkingCode.code).where(
                MarkingCode.order_id == order_id,
                MarkingCode.line_id != line_id,
                MarkingCode.code.in_(codes),
            )
        )
    )
    if elsewhere:
        raise Conflict("Marking code is already on this order", marking_codes=sorted(elsewhere))
    await session.execute(delete(MarkingCode).where(MarkingCode.line_id == line_id))
    session.add_all(MarkingCode(order_id=order_id, line_id=line_id, code=code) for code in codes)
    await session.flush()
    return Extended(line, marking_codes=list(codes))
