"""Money rules: rubles and kopecks convert exactly, and every receipt adds up to the kopeck.

For any order (quantities, discounted prices, VAT types, delivery, labelled goods split per
unit by their marking codes) the payment's receipt adds up to what is charged, and any
sequence of partial refunds has receipts that add up to each refund and never return more
than was paid, nor a unit twice.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from helpers.fiscal import TAX_TYPES, ReceiptLine, is_marking_code, payment_positions
from helpers.money import order_total, to_kopecks, to_rubles
from services.errors import Conflict
from services.receipts import delivery_receipt_line
from services.refund_plans import RefundableLine, plan_refund
from tests.support import make_settings

SETTINGS = make_settings("sqlite+aiosqlite:///:memory:", "/nonexistent")

prices = st.integers(min_value=0, max_value=10_000_000)
quantities = st.integers(min_value=1, max_value=1000)
# (unit price after any discount, quantity, VAT type, labelled, units with a code)
order_lines = st.lists(
    st.tuples(
        prices,
        st.integers(min_value=1, max_value=12),
        st.sampled_from(sorted(TAX_TYPES)),
        st.booleans(),
        st.integers(min_value=0, max_value=12),
    ),
    min_size=1,
    max_size=8,
)


def marking_code(line: int, unit: int) -> str:
    return f"01{4_600_000_000_000 + line:014d}21SN{unit:011d}\x1d91EE06\x1d92" + "A" * 44


def receipt_lines(lines) -> list[ReceiptLine]:
    return [
        ReceiptLine(
            line_id=index,
            item_code=str(100 + index),
            name=f"Товар {index}",
            quantity=quantity,
            unit_price=price,
            tax_type=tax_type,
            labelled=labelled,
            marking_codes=tuple(marking_code(index, unit) for unit in range(min(coded, quantity))),
        )
        for index, (price, quantity, tax_type, labelled, coded) in enumerate(lines, start=1)
    ]


def positions_of(lines, delivery_cost: int, ffd_version: str = "1.2") -> list[dict]:
    receipt = receipt_lines(lines)
    if delivery_cost:
        receipt.append(delivery_receipt_line("Курьер", delivery_cost, SETTINGS))
    return payment_positions(receipt, ffd_version)


@given(prices)
def test_kopecks_convert_back_to_the_same_rubles(rubles):
    assert to_rubles(to_kopecks(rubles)) == rubles


@given(order_lines, st.integers(min_value=0, max_value=100_000), st.sampled_from(["1.05", "1.2"]))
def test_payment_receipt_adds_up_and_splits_labelled_units(lines, delivery_cost, ffd_version):
    positions = positions_of(lines, delivery_cost, ffd_version)
    items = [position["item"] for position in positions]
    charged = to_kopecks(order_total(((p, q) for p, q, *_ in lines), delivery_cost))
    assert sum(item["itemAmount"] for item in items) == charged
    assert all(
        item["itemAmount"] == item["itemPrice"] * item["quantity"]["value"] for item in items
    )
    assert [item["positionId"] for item in items] == list(range(1, len(items) + 1))
    units = Counter()
    for position in positions:
        units[position["line_id"]] += position["item"]["quantity"]["value"]
        code = position["marking_code"]
        item = position["item"]
        assert code is None or is_marking_code(code)
        assert ("markCode" in item or "nomenclatureCode" in item) == (code is not None)
        if code is not None:
            assert item["quantity"]["value"] == 1
    for index, (_, quantity, tax_type, labelled, coded) in enumerate(lines, start=1):
        assert units[index] == quantity
        coded_units = sum(1 for p in positions if p["line_id"] == index and p["marking_code"])
        assert coded_units == (min(coded, quantity) if labelled else 0)
        assert {p["item"]["tax"]["taxType"] for p in positions if p["line_id"] == index} == {
            tax_type
        }
    measures = {item["quantity"]["measure"] for item in items}
    assert measures == ({"0"} if ffd_version == "1.2" else {"шт."})


refund_requests = st.lists(
    st.one_of(
        st.just({"full": True}),
        st.fixed_dictionaries(
            {
                "lines": st.lists(
                    st.fixed_dictionaries(
                        {
                            "line_id": st.integers(1, 8),
                            "quantity": st.integers(1, 14),
                            "codes": st.integers(0, 3),
                        }
                    ),
                    min_size=1,
                    max_size=4,
                ),
                "delivery": st.booleans(),
            }
        ),
        st.just({"delivery": True}),
    ),
    max_size=10,
)


def _with_codes(request: dict, positions: list[dict], taken: set[str]) -> dict:
    """Name up to `codes` of a line's receipt codes, refunded or not, as staff might."""
    if "lines" not in request:
        return request
    lines = []
    for item in request["lines"]:
        codes = [
            p["marking_code"]
            for p in positions
            if p["line_id"] == item["line_id"] and p["marking_code"]
        ]
        named = codes[: min(item["codes"], item["quantity"])]
        lines.append(
            {"line_id": item["line_id"], "quantity": item["quantity"], "marking_codes": named}
        )
    return {**request, "lines": lines}


@given(order_lines, st.integers(0, 5000), refund_requests)
def test_partial_refunds_add_up_and_never_return_more_than_was_paid(lines, delivery_cost, requests):
    positions = positions_of(lines, delivery_cost)
    refundable = [
        RefundableLine(index, 100 + index, f"Товар {index}", price, quantity)
        for index, (price, quantity, *_) in enumerate(lines, start=1)
    ]
    delivery = ("Курьер", delivery_cost) if delivery_cost else None
    paid = to_kopecks(order_total(((p, q) for p, q, *_ in lines), delivery_cost))
    refunded, delivery_taken = 0, False
    returned_units: Counter = Counter()
    returned_codes: list[str] = []
    for raw in requests:
        request = _with_codes(raw, positions, set(returned_codes))
        try:
            plan = plan_refund(
                refundable, delivery, delivery_taken, paid - refunded, request, SETTINGS, positions
            )
        except Conflict:
            continue
        assert sum(item["itemAmount"] for item in plan.receipt) == plan.amount_kopecks
        assert all(
            item["itemAmount"] == item["itemPrice"] * item["quantity"]["value"]
            for item in plan.receipt
        )
        by_position = {p["item"]["positionId"]: p for p in positions}
        units_by_line: Counter = Counter()
        codes_by_line: dict = {}
        for item in plan.receipt:
            returned_units[item["positionId"]] += item["quantity"]["value"]
            position = by_position[item["positionId"]]
            units_by_line[position["line_id"]] += item["quantity"]["value"]
            if position["marking_code"]:
                codes_by_line.setdefault(position["line_id"], []).append(position["marking_code"])
        assert units_by_line == Counter(
            {
                **{i["line_id"]: i["quantity"] for i in plan.lines},
                **({None: 1} if plan.delivery else {}),
            }
        )
        assert codes_by_line == {
            i["line_id"]: i["marking_codes"] for i in plan.lines if i.get("marking_codes")
        }
        for item in plan.lines:
            line = refundable[item["line_id"] - 1]
            line.taken += item["quantity"]
            line.taken_codes.update(item.get("marking_codes", ()))
            returned_codes += item.get("marking_codes", [])
        delivery_taken = delivery_taken or plan.delivery
        refunded += plan.amount_kopecks
        assert refunded <= paid
    assert len(returned_codes) == len(set(returned_codes))
    for position in positions:
        item = position["item"]
        assert returned_units[item["positionId"]] <= item["quantity"]["value"]
    if all(line.left == 0 for line in refundable) and (delivery is None or delivery_taken):
        assert refunded == paid
