"""Unpaid-order expiry never cancels an order whose payment may still arrive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from config import SettingsError, load_settings
from db.models import Order, PaymentAttempt
from db.models.base import utcnow
from services.status_changes import cancel_unpaid_orders
from tests.factories import order_body, setup_shop


async def _status(client, headers, order_id) -> int:
    return (await client.get(f"/orders/{order_id}", headers=headers)).json()["status_id"]


async def test_expiry_waits_for_an_open_payment_attempt(client, admin_headers, db, settings):
    shop = await setup_shop(client, admin_headers)
    paying = (await client.post("/orders", json=order_body(shop))).json()
    settled = (await client.post("/orders", json=order_body(shop))).json()
    async with db.begin() as session:
        await session.execute(update(Order).values(created_at=utcnow() - timedelta(hours=2)))
        for order, state in ((paying, "registered"), (settled, "failed")):
            session.add(
                PaymentAttempt(
                    order_id=order["id"],
                    attempt=1,
                    order_number=f"{order['id']}-1",
                    gateway_order_id=f"gw-{order['id']}",
                    amount_kopecks=order["total_sum"] * 100,
                    state=state,
                )
            )
    configured = settings.replace(UNPAID_ORDER_TTL_MIN=60, ORDER_CANCELLED_STATUS_IDS=(2,))
    async with db.begin() as session:
        assert await cancel_unpaid_orders(session, configured) == 1
    assert await _status(client, admin_headers, paying["id"]) == 1
    assert await _status(client, admin_headers, settled["id"]) == 2


def test_an_expiry_shorter_than_the_payment_session_is_refused():
    base = {"APP_ENV": "development", "SBER_SESSION_TIMEOUT_S": "1200"}
    with pytest.raises(SettingsError, match="UNPAID_ORDER_TTL_MIN"):
        load_settings(env={**base, "UNPAID_ORDER_TTL_MIN": "20"})
    assert load_settings(env={**base, "UNPAID_ORDER_TTL_MIN": "21"}).UNPAID_ORDER_TTL_MIN == 21
    assert load_settings(env={**base, "UNPAID_ORDER_TTL_MIN": "0"}).UNPAID_ORDER_TTL_MIN == 0
