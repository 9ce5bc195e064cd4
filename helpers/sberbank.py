"""Client of the Sberbank internet-acquiring REST gateway (form-encoded POST, TLS verified)."""

from __future__ import annotations

import json
import logging

import httpx

from helpers import metrics

log = logging.getLogger("shop.sberbank")

# orderStatus of getOrderStatusExtended.do
REGISTERED, HELD, DEPOSITED, REVERSED, REFUNDED, ACS_STARTED, DECLINED = range(7)


class GatewayUnavailable(Exception):
    """Timeout, network error or an answer that is not the gateway's JSON.

    `reached` is False only when the request surely never got to the gateway (no connection).
    """

    def __init__(self, reason: str, reached: bool = True):
        super().__init__(reason)
        self.reached = reached


class GatewayRefused(Exception):
    """The gateway answered with an error code; its message goes back to the client."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


class SberbankGateway:
    def __init__(self, settings):
        self._credentials = (
            {"token": settings.SBER_TOKEN}
            if settings.SBER_TOKEN
            else {"userName": settings.SBER_USERNAME, "password": settings.SBER_PASSWORD}
        )
        base = (
            settings.SBER_BASE_URL
            if settings.SBER_BASE_URL.endswith("/")
            else (settings.SBER_BASE_URL + "/")
        )
        self._http = httpx.AsyncClient(base_url=base, timeout=settings.SBER_TIMEOUT_S, verify=True)

    async def call(self, method: str, params: dict) -> dict:
        form = {**params, **self._credentials}
        try:
            response = await self._http.post(method, data=form)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            metrics.payment_gateway_requests_total.labels(method, "unavailable").inc()
            log.warning("gateway %s unavailable: %s", method, type(exc).__name__)
            reached = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            raise GatewayUnavailable(type(exc).__name__, reached) from None
        if not isinstance(body, dict):
            metrics.payment_gateway_requests_total.labels(method, "unavailable").inc()
            raise GatewayUnavailable("unexpected answer")
        if str(body.get("errorCode", "0")) != "0":
            metrics.payment_gateway_requests_total.labels(method, "error").inc()
            raise GatewayRefused(
                str(body.get("errorMessage") or "Payment gateway error"),
                str(body.get("errorCode")),
            )
        metrics.payment_gateway_requests_total.labels(method, "ok").inc()
        return body

    async def register(self, params: dict) -> dict:
        return await self.call("register.do", params)

    async def order_status(self, gateway_order_id: str) -> dict:
        return await self.call("getOrderStatusExtended.do", {"orderId": gateway_order_id})

    async def refund(self, params: dict) -> dict:
        """Money back for a paid (deposited) order, in full or in part."""
        return await self.call("refund.do", params)

    async def reverse(self, params: dict) -> dict:
        """Cancel a payment that is only held (two-stage), always in full."""
        return await self.call("reverse.do", params)

    async def close(self) -> None:
        await self._http.aclose()


def order_status_code(status: dict) -> int | None:
    """The answer's orderStatus as a number, or None when it has none."""
    try:
        return int(status.get("orderStatus"))
    except (TypeError, ValueError):
        return None


def order_bundle_json(bundle: dict) -> str:
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":"))
