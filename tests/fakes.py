"""Real local servers standing in for the outside world: Telegram Bot API, the gateway, SMTP."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json as json_module
import uuid
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from sanic import Sanic
from sanic.response import json, text

from tests.support import free_port

_names = itertools.count(1)


async def serve(app: Sanic, port: int | None = None):
    app.config.TOUCHUP = False
    port = port or free_port()
    server = await app.create_server(host="127.0.0.1", port=port, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    return server, port


async def shutdown(server) -> None:
    await server.before_stop()
    server.close()
    await server.wait_closed()
    await server.after_stop()


@dataclass
class FakeTelegram:
    """Speaks sendMessage; `replies` are served first (e.g. a 429), then 200s.

    `delay_s` makes every answer slow, like a Bot API under load. `mode` breaks it for a while:
    "slow" answers only after `slow_s` and then with a 502, so a client that gave up has sent
    nothing; "garbage" answers 200 with an HTML page, or a 500 every other time. `stop()` and
    `start()` again on the same port make it "down".
    """

    messages: list = field(default_factory=list)
    replies: list = field(default_factory=list)
    delay_s: float = 0.0
    mode: str = "ok"
    slow_s: float = 30.0
    refused: int = 0
    server: object = None
    port: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeTelegram:
        app = Sanic(f"fake_telegram_{next(_names)}")

        @app.post("/<bot_token>/sendMessage")
        async def send_message(request, bot_token):
            await asyncio.sleep(self.delay_s)
            if self.mode != "ok":
                return await self._broken()
            if self.replies:
                status, body = self.replies.pop(0)
                return json(body, status=status)
            self.messages.append(request.json)
            return json({"ok": True, "result": {"message_id": len(self.messages)}})

        self.server, self.port = await serve(app, self.port)
        return self

    async def _broken(self):
        self.refused += 1
        if self.mode == "slow":
            await asyncio.sleep(self.slow_s)
            return json({"ok": False, "description": "Bad Gateway"}, status=502)
        if self.refused % 2:
            return text("<html><body>Service Temporarily Unavailable</body></html>")
        return text("Internal Server Error", status=500)

    async def stop(self) -> None:
        await shutdown(self.server)


class _Inbox:
    def __init__(self):
        self.messages = []
        self.unknown_recipients: set[str] = set()
        self.mode = "ok"
        self.slow_s = 30.0
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):
        if self.mode == "slow":
            self.refused += 1
            await asyncio.sleep(self.slow_s)
            return "451 4.3.0 Try again later"
        if self.mode == "garbage":
            self.refused += 1
            return "garbage"
        self.messages.append(envelope)
        return "250 Message accepted"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown_recipients:
            return "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class FakeSmtp:
    """An SMTP server; `inbox.mode` "slow" or "garbage" breaks the DATA answer, `stop()` makes
    it down."""

    def __init__(self, port: int | None = None):
        self.inbox = _Inbox()
        self.port = port or free_port()
        self.controller = None

    def start(self) -> FakeSmtp:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class FakeGateway:
    """Speaks register.do, getOrderStatusExtended.do, refund.do and reverse.do of the
    acquiring gateway.

    `mode` breaks register.do: "slow" sleeps `slow_s` first, "garbage" answers 200 with HTML,
    "error" a bare 500.
    `refund_mode` (refund.do and reverse.do): "ok"; "refuse" (an error answer); "slow_done"
    (made, but answered after `slow_s`, past the client's timeout); "slow_lost" (answered late,
    nothing made).
    """

    registered: dict = field(default_factory=dict)
    statuses: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)
    # Units refunded per cart position, by gateway order id, as the gateway counts them.
    refunded_positions: dict = field(default_factory=dict)
    # Carts the gateway refused, with the reason (a test that expects none checks it is empty).
    bad_carts: list = field(default_factory=list)
    refuse_with: str | None = None
    refund_mode: str = "ok"
    mode: str = "ok"
    slow_s: float = 2.0
    server: object = None
    port: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/payment/rest/"

    async def start(self) -> FakeGateway:
        app = Sanic(f"fake_gateway_{next(_names)}")

        @app.post("/payment/rest/register.do")
        async def register(request):
            form = {key: values[0] for key, values in request.form.items()}
            self.requests.append(("register", form))
            if self.mode == "slow":
                await asyncio.sleep(self.slow_s)
            if self.mode == "garbage":
                return text("<html>502 Bad Gateway</html>")
            if self.mode == "error":
                return text("Internal Server Error", status=500)
            if self.refuse_with:
                return json({"errorCode": "1", "errorMessage": self.refuse_with})
            problem = cart_problem(form)
            if problem:
                self.bad_carts.append(problem)
                return json({"errorCode": "5", "errorMessage": f"Неверная корзина: {problem}"})
            order_id = str(uuid.uuid4())
            self.registered[order_id] = form
            self.statuses[order_id] = {"orderStatus": 0, "amount": int(form["amount"])}
            return json(
                {"orderId": order_id, "formUrl": f"https://pay.example/form?mdOrder={order_id}"}
            )

        @app.post("/payment/rest/getOrderStatusExtended.do")
        async def status(request):
            form = {key: values[0] for key, values in request.form.items()}
            self.requests.append(("status", form))
            found = self.statuses.get(form["orderId"])
            if found is None:
                return json({"errorCode": "6", "errorMessage": "Заказ не найден"})
            return json(
                {
                    "errorCode": "0",
                    "orderNumber": "x",
                    **found,
                    "cardAuthInfo": {"pan": "4111**1111", "cardholderName": "IVAN"},
                }
            )

        self._add_refund_routes(app)
        self.server, self.port = await serve(app, self.port)
        return self

    def pay(self, order_id: str, amount: int | None = None) -> None:
        self.statuses[order_id]["orderStatus"] = 2
        if amount is not None:
            self.statuses[order_id]["amount"] = amount

    async def stop(self) -> None:
        await shutdown(self.server)

    def _add_refund_routes(self, app: Sanic) -> None:
        @app.post("/payment/rest/refund.do")
        async def refund(request):
            form = {key: values[0] for key, values in request.form.items()}
            self.requests.append(("refund", form))
            return json(await self._refund_answer(lambda: self._refund(form)))

        @app.post("/payment/rest/reverse.do")
        async def reverse(request):
            form = {key: values[0] for key, values in request.form.items()}
            self.requests.append(("reverse", form))
            return json(await self._refund_answer(lambda: self._reverse(form)))

    async def _refund_answer(self, operate) -> dict:
        if self.refund_mode == "refuse":
            return {"errorCode": "7", "errorMessage": "Операция невозможна"}
        answer = operate() if self.refund_mode in ("ok", "slow_done") else {"errorCode": "0"}
        if self.refund_mode.startswith("slow"):
            await asyncio.sleep(self.slow_s)
        return answer

    def _amounts(self, order_id: str) -> dict:
        status = self.statuses[order_id]
        held = status["orderStatus"] == 1
        return status.setdefault(
            "paymentAmountInfo",
            {
                "approvedAmount": status["amount"],
                "depositedAmount": 0 if held else status["amount"],
                "refundedAmount": 0,
                "paymentState": "APPROVED" if held else "DEPOSITED",
            },
        )

    def _refund(self, form: dict) -> dict:
        status = self.statuses.get(form["orderId"])
        if status is None or status["orderStatus"] not in (2, 4):
            return {"errorCode": "7", "errorMessage": "Возврат невозможен"}
        amounts = self._amounts(form["orderId"])
        amount = int(form["amount"])
        if amounts["refundedAmount"] + amount > amounts["depositedAmount"]:
            return {"errorCode": "7", "errorMessage": "Сумма возврата превышает сумму оплаты"}
        refunded = self.refunded_positions.setdefault(form["orderId"], {})
        problem = refund_cart_problem(form, self.registered[form["orderId"]], refunded)
        if problem:
            self.bad_carts.append(problem)
            return {"errorCode": "5", "errorMessage": f"Неверная корзина возврата: {problem}"}
        self.refund_in_cabinet(form["orderId"], amount)
        return {"errorCode": "0", "errorMessage": "Успешно"}

    def _reverse(self, form: dict) -> dict:
        status = self.statuses.get(form["orderId"])
        if status is None or status["orderStatus"] != 1:
            return {"errorCode": "7", "errorMessage": "Отмена невозможна"}
        status["orderStatus"] = 3
        self._amounts(form["orderId"])["paymentState"] = "REVERSED"
        return {"errorCode": "0", "errorMessage": "Успешно"}

    def hold(self, order_id: str) -> None:
        """Two-stage: the money is held (orderStatus 1), not deposited."""
        self.statuses[order_id]["orderStatus"] = 1
        self._amounts(order_id)

    def refund_in_cabinet(self, order_id: str, amount: int) -> None:
        """A refund as the gateway books it: the refunded sum grows, the order turns status 4."""
        amounts = self._amounts(order_id)
        amounts["refundedAmount"] += amount
        amounts["paymentState"] = "REFUNDED"
        self.statuses[order_id]["orderStatus"] = 4

    def calls(self, kind: str) -> list[dict]:
        return [form for name, form in self.requests if name == kind]


# The gateway's documented VAT types (tag 1199) and FFD 1.2 measure codes (tag 2108).
TAX_TYPES = {0, 1, 2, 4, 6, 7, 8, 9, 10, 11, 12, 13}
MEASURES_FFD_12 = {
    *("0", "10", "11", "12", "20", "21", "22", "30", "31", "32", "40", "41", "42", "50"),
    *("51", "70", "71", "72", "73", "80", "81", "82", "83", "255"),
}


def cart_items(form: dict) -> list[dict] | None:
    if "orderBundle" not in form:
        return None
    return json_module.loads(form["orderBundle"])["cartItems"]["items"]


def cart_problem(form: dict) -> str | None:
    """What the gateway would refuse in a registration's cart, if anything."""
    items = cart_items(form)
    if items is None:
        return None
    positions = [item["positionId"] for item in items]
    if len(set(positions)) != len(positions):
        return "positionId repeats"
    for item in items:
        problem = _item_problem(item)
        if problem:
            return f"position {item['positionId']}: {problem}"
    if sum(item["itemAmount"] for item in items) != int(form["amount"]):
        return "items do not add up to the amount"
    return None


def _item_problem(item: dict) -> str | None:
    quantity = item["quantity"]
    if item["itemAmount"] != item["itemPrice"] * quantity["value"]:
        return "itemAmount is not itemPrice x quantity"
    if item["tax"]["taxType"] not in TAX_TYPES:
        return "unknown taxType"
    measure = quantity.get("measure")
    if not isinstance(measure, str) or not measure:
        return "no measure"
    attributes = {a["name"]: a["value"] for a in item["itemAttributes"]["attributes"]}
    if "markCode" in item:
        if measure not in MEASURES_FFD_12:
            return "markCode needs FFD 1.2 and its numeric measure"
        if quantity["value"] != 1 or attributes.get("paymentObject") != "33":
            return "a marked unit is one position of quantity 1 with paymentObject 33"
        code = base64.b64decode(item["markCode"]["gs1m"], validate=True).decode("ascii")
        if not code.startswith("01") or item.get("markProcessingMode") != "0":
            return "markCode.gs1m is not a Base64 GS1 code"
    elif attributes.get("paymentObject") == "33":
        return "paymentObject 33 without a markCode"
    return None


def refund_cart_problem(form: dict, registered: dict, refunded: dict) -> str | None:
    """What the gateway would refuse in a refund's cart; counts the refunded units when none."""
    items = cart_items(form)
    if items is None:
        return None
    paid = {item["positionId"]: item for item in (cart_items(registered) or [])}
    if sum(item["itemAmount"] for item in items) != int(form["amount"]):
        return "items do not add up to the amount"
    for item in items:
        original = paid.get(item["positionId"])
        if original is None:
            return f"position {item['positionId']} was not paid"
        same = ("itemCode", "itemPrice", "tax", "markCode", "nomenclatureCode")
        if any(item.get(key) != original.get(key) for key in same):
            return f"position {item['positionId']} differs from the paid one"
        left = original["quantity"]["value"] - refunded.get(item["positionId"], 0)
        if (
            item["quantity"]["value"] > left
            or item["itemAmount"] != item["itemPrice"] * item["quantity"]["value"]
        ):
            return f"position {item['positionId']}: more than is left"
    for item in items:
        refunded[item["positionId"]] = (
            refunded.get(item["positionId"], 0) + item["quantity"]["value"]
        )
    return None
