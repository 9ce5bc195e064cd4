"""Notifications queued in the outbox: Telegram messages and emails, rendered at queue time."""

from __future__ import annotations

import html
from datetime import datetime
from functools import cache
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ContactForm, Order, Status
from helpers.money import lines_subtotal
from services.outbox import queue_messages

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TELEGRAM_LIMIT = 4096
PRE_OPEN, PRE_CLOSE = "<pre>", "</pre>"
NAME_WIDTH = 40


def escape(value) -> str:
    return html.escape("" if value is None else str(value), quote=False)


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Telegram takes 4096 characters a message: split at line boundaries.

    A <pre> block cut in two is closed at the end of one part and reopened in the next, so
    every part is valid HTML on its own.
    """
    budget = limit - len(PRE_OPEN) - len(PRE_CLOSE)
    parts, current, in_pre = [], "", False
    for line in text.split("\n"):
        for piece in [line[i : i + budget] for i in range(0, len(line), budget)] or [""]:
            candidate = f"{current}\n{piece}" if current else piece
            if current and len(candidate) > budget:
                parts.append(current + PRE_CLOSE if in_pre else current)
                candidate = PRE_OPEN + piece if in_pre else piece
            current = candidate
            in_pre = _pre_open_after(piece, in_pre)
    if current:
        parts.append(current)
    return parts


def _pre_open_after(piece: str, was_open: bool) -> bool:
    opened, closed = piece.rfind(PRE_OPEN), piece.rfind(PRE_CLOSE)
    return was_open if opened == closed == -1 else opened > closed


def _telegram_messages(settings, topic: str, text: str) -> list[dict]:
    if not settings.TELEGRAM_ORDERS_CHAT_ID:
        return []
    return [
        {
            "kind": "telegram",
            "topic": topic,
            "payload": {
                "chat_id": settings.TELEGRAM_ORDERS_CHAT_ID,
                "text": part,
                "parse_mode": "HTML",
            },
        }
        for part in split_message(text)
    ]


async def _queue_telegram(session: AsyncSession, settings, topic: str, text: str) -> None:
    await queue_messages(session, _telegram_messages(settings, topic, text))


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _local(moment: datetime, settings) -> datetime:
    return moment.astimezone(ZoneInfo(settings.SHOP_TIMEZONE))


def payment_kind(order: Order) -> str:
    return "наличными при получении" if order.is_cash_payment else "онлайн на сайте"


def contact_full_name(order) -> str:
    """The buyer's name as the order message prints it."""
    return " ".join(
        part
        for part in (order.contact_second_name, order.contact_first_name, order.contact_last_name)
        if part
    )


def order_message(order, rows, delivery_name: str, settings) -> str:
    name = contact_full_name(order)
    table = "\n".join(
        f"{escape(variation_name[:NAME_WIDTH])} | {line.amount} | {line.current_price}"
        for line, variation_name in rows
    )
    subtotal = lines_subtotal((line.current_price, line.amount) for line, _ in rows)
    storefront = " (расчёт сайта)" if order.delivery_cost_by_storefront else ""
    created = _local(order.created_at, settings)
    return (
        f"<b>Оформлен заказ №{order.id} от {created:%d.%m.%Y}</b>\n\n"
        f"<b>Клиент:</b>\nФИО: {escape(name)}\nТелефон: {escape(order.contact_phone_number)}\n"
        f"Email: {escape(order.contact_email)}\n\n"
        f"<b>Товары:</b>\n<pre>Наименование | Количество | Цена\n{table}</pre>\n"
        f"Подытог: {subtotal} руб.\n\n"
        f"<b>Данные по доставке:</b>\n<b>Тип доставки:</b> {escape(delivery_name)}\n"
        f"{escape(order.delivery_address)}\nСтоимость: {order.delivery_cost} руб.{storefront}\n\n"
        f"<b>Итого: {order.total_sum} руб.</b>\nТип оплаты: {payment_kind(order)}"
    )


def order_email(order, rows, delivery_name: str) -> tuple[str, str]:
    """(html, plain text) of the order email, from the template files."""
    items_html = "".join(
        f"<tr><td>{escape(name)} ({line.amount})</td><td>{line.current_price} руб.</td></tr>"
        for line, name in rows
    )
    items_text = "\n".join(
        f"{name} ({line.amount}) — {line.current_price} руб." for line, name in rows
    )
    values = {
        "order_id": order.id,
        "delivery_name": escape(delivery_name),
        "delivery_cost": order.delivery_cost,
        "total_sum": order.total_sum,
        "delivery_address": escape(order.delivery_address),
        "payment": payment_kind(order),
    }
    html_body = _template("order_email.html").substitute(values, items=items_html)
    text_values = {
        **values,
        "delivery_name": delivery_name,
        "delivery_address": order.delivery_address,
    }
    text_body = _template("order_email.txt").substitute(text_values, items=items_text)
    return html_body, text_body


def order_placed_messages(settings, order, rows, delivery_name: str) -> list[dict]:
    """The shop's Telegram message and the emails of a new order, for `queue_messages`.

    `order` and `rows` (order line, variation name) are what checkout just wrote, so
    nothing is read back.
    """
    messages = _telegram_messages(
        settings, "order_placed", order_message(order, rows, delivery_name, settings)
    )
    if settings.EMAIL_FROM:
        html_body, text_body = order_email(order, rows, delivery_name)
        recipients = [(order.contact_email, "Данные по заказу Vinterr")]
        if settings.EMAIL_SHOP_TO:
            recipients.append((settings.EMAIL_SHOP_TO, f"Новый заказ №{order.id}"))
        messages += [
            {
                "kind": "email",
                "topic": "order_placed",
                "payload": {"to": to, "subject": subject, "html": html_body, "text": text_body},
            }
            for to, subject in recipients
            if to
        ]
    return messages


async def notify_order_paid(session: AsyncSession, settings, order_id: int, paid_at) -> None:
    order = await session.get(Order, order_id)
    moment = _local(paid_at, settings)
    text = (
        f"<b>Оплачен заказ №{order.id}</b> в {moment:%H:%M - %d.%m.%Y}\n"
        f"Сумма: {order.total_sum} руб."
    )
    await _queue_telegram(session, settings, "order_paid", text)


async def notify_contact_form(session: AsyncSession, settings, form_id: int) -> None:
    form = await session.get(ContactForm, form_id)
    lines = [
        f"<b>Новое сообщение №{form.id}</b>",
        f"Имя клиента: {escape(form.customer_name)}",
        f"Телефон: {escape(form.phone_number)}",
    ]
    if form.email:
        lines.append(f"Email: {escape(form.email)}")
    if form.text:
        lines.append(f"Текст обращения: {escape(form.text)}")
    await _queue_telegram(session, settings, "contact_form", "\n".join(lines))


async def notify_stock_update(
    session: AsyncSession, settings, updated: int, zeroed: int, unknown_codes: int
) -> None:
    await _queue_telegram(
        session,
        settings,
        "stock_update",
        f"Обновлены остатки: обновлено {updated}, обнулено {zeroed}, "
        f"неизвестных кодов {unknown_codes}",
    )


async def notify_password_reset(session: AsyncSession, settings, customer, token: str) -> None:
    """Queue the email with the customer's one-time reset link."""
    if not settings.EMAIL_FROM:
        return
    link = settings.PASSWORD_RESET_URL.replace("{token}", token)
    values = {"name": customer.first_name, "link": link, "ttl": settings.PASSWORD_RESET_TTL_MIN}
    html_values = {**values, "name": escape(customer.first_name), "link": escape(link)}
    payload = {
        "to": customer.email,
        "subject": "Восстановление пароля Vinterr",
        "html": _template("password_reset_email.html").substitute(html_values),
        "text": _template("password_reset_email.txt").substitute(values),
    }
    await queue_messages(
        session, [{"kind": "email", "topic": "password_reset", "payload": payload}]
    )


def _status_template(status_id: int, extension: str) -> Template:
    """The status's own template (templates/order_status_<id>.txt or .html), else the common one."""
    own = f"order_status_{status_id}.{extension}"
    return _template(own if (TEMPLATES / own).exists() else f"order_status.{extension}")


async def notify_status_changed(session: AsyncSession, settings, order) -> None:
    """Email the buyer about the order's new status when the shop lists it as notifying."""
    if (
        order.status_id not in settings.ORDER_STATUS_EMAIL_IDS
        or not settings.EMAIL_FROM
        or not order.contact_email
    ):
        return
    status = await session.get(Status, order.status_id)
    values = {
        "name": order.contact_first_name,
        "order_id": order.id,
        "status": status.name,
        "total_sum": order.total_sum,
    }
    html_values = {**values, "name": escape(values["name"]), "status": escape(status.name)}
    payload = {
        "to": order.contact_email,
        "subject": f"Заказ №{order.id}: {status.name}",
        "html": _status_template(order.status_id, "html").substitute(html_values),
        "text": _status_template(order.status_id, "txt").substitute(values),
    }
    await queue_messages(session, [{"kind": "email", "topic": "order_status", "payload": payload}])


def rubles_text(kopecks: int) -> str:
    """A sum for people: whole rubles, with kopecks only when there are any."""
    rubles, rest = divmod(kopecks, 100)
    return f"{rubles}.{rest:02d}" if rest else str(rubles)


async def notify_staff(session: AsyncSession, settings, topic: str, text: str) -> None:
    """A Telegram message to the orders chat about something staff must act on."""
    await _queue_telegram(session, settings, topic, text)


async def notify_refund(session: AsyncSession, settings, order: Order, refund, rows) -> None:
    """The shop's Telegram message and the buyer's email about money returned.

    `rows` are (variation name, quantity, unit price) of the refunded goods.
    """
    amount = rubles_text(refund.amount_kopecks)
    kind = "Отмена оплаты" if refund.kind == "reversal" else "Возврат"
    lines = [f"<b>{kind} по заказу №{order.id}</b>", f"Сумма: {amount} руб."]
    lines += [
        f"{escape(name[:NAME_WIDTH])} | {quantity} | {price}" for name, quantity, price in rows
    ]
    if refund.delivery:
        lines.append(f"Доставка: {order.delivery_cost} руб.")
    if refund.source == "gateway":
        lines.append("Проведён в личном кабинете шлюза")
    await _queue_telegram(session, settings, "order_refunded", "\n".join(lines))
    if not settings.EMAIL_FROM or not order.contact_email:
        return
    items_html = "".join(
        f"<tr><td>{escape(name)} ({quantity})</td><td>{price} руб.</td></tr>"
        for name, quantity, price in rows
    )
    items_text = "\n".join(f"{name} ({quantity}) — {price} руб." for name, quantity, price in rows)
    values = {"name": order.contact_first_name, "order_id": order.id, "amount": amount}
    html_values = {**values, "name": escape(order.contact_first_name)}
    payload = {
        "to": order.contact_email,
        "subject": f"Возврат по заказу №{order.id}",
        "html": _template("refund_email.html").substitute(html_values, items=items_html),
        "text": _template("refund_email.txt").substitute(values, items=items_text),
    }
    await queue_messages(
        session, [{"kind": "email", "topic": "order_refunded", "payload": payload}]
    )
