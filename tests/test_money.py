"""Money rules: rubles and kopecks convert exactly, and a receipt adds up to what is charged."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from helpers.money import order_total, to_kopecks, to_rubles
from services.receipts import receipt_items
from tests.support import make_settings

SETTINGS = make_settings("sqlite+aiosqlite:///:memory:", "/nonexistent")

prices = st.integers(min_value=0, max_value=10_000_000)
quantities = st.integers(min_value=1, max_value=1000)
lines = st.lists(st.tuples(prices, quantities), min_size=1, max_size=30)


@given(prices)
def test_kopecks_convert_back_to_the_same_rubles(rubles):
    assert to_rubles(to_kopecks(rubles)) == rubles


@given(lines, st.integers(min_value=0, max_value=100_000))
def test_receipt_lines_add_up_to_the_charged_amount(order_lines, delivery_cost):
    receipt_lines = [(f"Товар {i}", qty, price, i) for i, (price, qty) in enumerate(order_lines)]
    delivery = ("Курьер", delivery_cost) if delivery_cost else None
    items = receipt_items(receipt_lines, delivery, SETTINGS)
    charged = to_kopecks(order_total(order_lines, delivery_cost))
    assert sum(item["itemAmount"] for item in items) == charged
    assert all(
        item["itemAmount"] == item["itemPrice"] * item["quantity"]["value"] for item in items
    )
    assert [item["positionId"] for item in items] == list(range(1, len(items) + 1))
