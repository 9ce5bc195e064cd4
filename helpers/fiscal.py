"""Fiscal receipts (54-FZ) in the gateway's cart format: VAT types, measure codes, labelled goods.

A payment's receipt is a list of positions; each position is the gateway's cart item plus the
order line it comes from and, for a labelled unit, its marking code. A labelled line whose
units have codes is one position per coded unit (quantity 1) and one for the units without a
code yet. Refund receipts repeat the payment's positions with the refunded quantities.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from helpers.money import line_amount, lines_subtotal, to_kopecks

# Tag 1199, as the gateway numbers it: 3 and 5 (18 %) are gone since 2019.
TAX_TYPES = {
    0: "без НДС",
    1: "НДС 0%",
    2: "НДС 10%",
    4: "НДС 10/110",
    6: "НДС 20%",
    7: "НДС 20/120",
    8: "НДС 5%",
    9: "НДС 5/105",
    10: "НДС 7%",
    11: "НДС 7/107",
    12: "НДС 22%",
    13: "НДС 22/122",
}
FFD_VERSIONS = ("1.05", "1.2")
# Tag 2108 (FFD 1.2): 0 is "pieces or units"; FFD 1.05 takes the unit as text (tag 1197).
MEASURE_PIECES = "0"
MEASURE_PIECES_TEXT = "шт."
# Tag 1214: the whole price is paid before the goods are handed over.
FULL_PREPAYMENT = "1"
# Tag 1212: a good, a labelled good with its marking code (FFD 1.2 only), a service.
GOODS, LABELLED_GOODS, SERVICE = "1", "33", "4"
# Tag 2102: the marking code was not checked by the seller's own cash register.
MARK_NOT_CHECKED = "0"
DELIVERY_CODE = "delivery"
NAME_LIMIT = 100
# A scanned GS1 DataMatrix of the "Честный знак" system: (01) GTIN, (21) serial, then the
# check parts, separated by GS (0x1D); Base64 of at most 200 characters carries 150 bytes.
MARKING_CODE_PATTERN = re.compile(r"01\d{14}21[\x1d\x21-\x7e]+")
MARKING_CODE_MAX = 150


def is_marking_code(code: str) -> bool:
    return len(code) <= MARKING_CODE_MAX and MARKING_CODE_PATTERN.fullmatch(code) is not None


@dataclass(frozen=True)
class ReceiptLine:
    """An order line as the receipt sees it; `line_id` None is the delivery."""

    line_id: int | None
    item_code: str
    name: str
    quantity: int
    unit_price: int
    tax_type: int
    labelled: bool = False
    marking_codes: tuple[str, ...] = field(default=())


def payment_positions(lines: Iterable[ReceiptLine], ffd_version: str) -> list[dict]:
    """The positions of a payment's receipt, numbered from 1 in the order of the lines."""
    positions = []
    for line in lines:
        codes = line.marking_codes[: line.quantity] if line.labelled else ()
        units = [(1, code) for code in codes]
        if line.quantity > len(codes):
            units.append((line.quantity - len(codes), None))
        for quantity, code in units:
            item = _cart_item(len(positions) + 1, line, quantity, code, ffd_version)
            positions.append({"line_id": line.line_id, "marking_code": code, "item": item})
    return positions


def _cart_item(position: int, line: ReceiptLine, quantity: int, code, ffd_version: str) -> dict:
    unit_kopecks = to_kopecks(line.unit_price)
    if line.line_id is None:
        payment_object = SERVICE
    elif code is not None and ffd_version == "1.2":
        payment_object = LABELLED_GOODS
    else:
        payment_object = GOODS
    measure = MEASURE_PIECES if ffd_version == "1.2" else MEASURE_PIECES_TEXT
    item = {
        "positionId": position,
        "name": line.name[:NAME_LIMIT],
        "quantity": {"value": quantity, "measure": measure},
        "itemCode": line.item_code,
        "itemPrice": unit_kopecks,
        "itemAmount": line_amount(unit_kopecks, quantity),
        "tax": {"taxType": line.tax_type},
        "itemAttributes": {
            "attributes": [
                {"name": "paymentMethod", "value": FULL_PREPAYMENT},
                {"name": "paymentObject", "value": payment_object},
            ]
        },
    }
    if code is not None:
        item.update(_marking_fields(code, ffd_version))
    return item


def _marking_fields(code: str, ffd_version: str) -> dict:
    if ffd_version == "1.05":
        # Tag 1162; ATOL Online takes the code as scanned and converts it itself.
        return {"nomenclatureCode": code}
    # Tag 1163 in the GS1.M form (tag 1305), Base64 as the gateway asks.
    return {
        "markCode": {"gs1m": base64.b64encode(code.encode("ascii")).decode("ascii")},
        "markProcessingMode": MARK_NOT_CHECKED,
    }


@dataclass
class Returned:
    """Units of one line a refund returns: the coded ones by code, the rest by count."""

    marking_codes: list[str] = field(default_factory=list)
    uncoded: int = 0


def refund_items(
    positions: list[dict], returned: dict[int, Returned], with_delivery: bool
) -> list[dict]:
    """The payment's positions that a refund returns, with the returned quantities."""
    items = []
    for position in positions:
        line_id, code = position["line_id"], position["marking_code"]
        if line_id is None:
            quantity = 1 if with_delivery else 0
        elif line_id not in returned:
            quantity = 0
        elif code is not None:
            quantity = 1 if code in returned[line_id].marking_codes else 0
        else:
            quantity = returned[line_id].uncoded
        if quantity:
            item = position["item"]
            items.append(
                {
                    **item,
                    "quantity": {**item["quantity"], "value": quantity},
                    "itemAmount": line_amount(item["itemPrice"], quantity),
                }
            )
    return items


def items_total(items: Iterable[dict]) -> int:
    """What the items of a receipt add up to, in kopecks."""
    return lines_subtotal((item["itemPrice"], item["quantity"]["value"]) for item in items)
