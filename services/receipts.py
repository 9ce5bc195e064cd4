"""Fiscal receipts of orders: the payment's positions with each good's VAT type and the
marking codes of labelled units, and the cart the gateway gets with them."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DeliveryType, Order
from db.queries.receipts import category_tax_types, order_marking_codes, receipt_rows
from helpers.fiscal import DELIVERY_CODE, ReceiptLine, payment_positions


async def payment_receipt(session: AsyncSession, settings, order: Order) -> list[dict]:
    """The positions of the receipt a payment of the order registers now."""
    return payment_positions(
        await receipt_lines(session, settings, order), settings.SBER_FFD_VERSION
    )


def payment_bundle(order: Order, positions: list[dict]) -> dict:
    """The gateway's orderBundle: the buyer's contacts and the cart."""
    customer = {"email": order.contact_email, "phone": order.contact_phone_number}
    return {
        "customerDetails": {k: v for k, v in customer.items() if v},
        "cartItems": {"items": [position["item"] for position in positions]},
    }


async def receipt_lines(session: AsyncSession, settings, order: Order) -> list[ReceiptLine]:
    """The order's lines as receipt lines, then its delivery when it charged one."""
    rows = (await session.execute(receipt_rows(order.id))).all()
    codes: dict[int, list[str]] = defaultdict(list)
    if any(labelled for *_, labelled in rows):
        for line_id, code in await session.execute(order_marking_codes(order.id)):
            codes[line_id].append(code)
    categories = None
    if any(tax_type is None for _, _, tax_type, _, _ in rows):
        categories = {
            category_id: (parent_id, tax_type)
            for category_id, parent_id, tax_type in await session.execute(category_tax_types())
        }
    lines = [
        ReceiptLine(
            line_id=line.id,
            item_code=str(line.variation_id),
            name=name,
            quantity=line.amount,
            unit_price=line.current_price,
            tax_type=_tax_type(tax_type, category_id, categories, settings),
            labelled=labelled,
            marking_codes=tuple(codes.get(line.id, ())),
        )
        for line, name, tax_type, category_id, labelled in rows
    ]
    if order.delivery_cost > 0:
        delivery_type = await session.get(DeliveryType, order.delivery_type_id)
        lines.append(delivery_receipt_line(delivery_type.name, order.delivery_cost, settings))
    return lines


def delivery_receipt_line(name: str, cost: int, settings) -> ReceiptLine:
    return ReceiptLine(None, DELIVERY_CODE, name, 1, cost, settings.SBER_TAX_TYPE)


def _tax_type(own: int | None, category_id: int, categories, settings) -> int:
    """The good's own VAT type, else its category's or the nearest ancestor's, else the
    shop's."""
    if own is not None:
        return own
    seen = set()
    while category_id is not None and category_id not in seen:
        seen.add(category_id)
        parent_id, tax_type = categories.get(category_id, (None, None))
        if tax_type is not None:
            return tax_type
        category_id = parent_id
    return settings.SBER_TAX_TYPE
