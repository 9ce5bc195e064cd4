"""CommerceML 2 orders documents: the one the shop sends 1C, and the reader of 1C's updates.

Written with xml.etree (the library escapes every value); read with defusedxml's iterparse,
which refuses DTDs, entity declarations and external references.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

SCHEMA_VERSION = "2.08"
ROOT = "КоммерческаяИнформация"
DELIVERY_ID = "ORDER_DELIVERY"
_TRUE = {"true", "1", "да", "yes"}
_FALSE = {"false", "0", "нет", "no"}
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass
class ExportedLine:
    item_id: str
    name: str
    price: int
    quantity: int
    kind: str = "Товар"


@dataclass
class ExportedOrder:
    """An order as 1C gets it; times are already in the shop's time zone."""

    id: int
    created_at: datetime
    total_sum: int
    comment: str | None
    buyer_id: str
    buyer_name: str
    address: str
    email: str | None
    phone: str | None
    payment_method: str
    is_paid: bool
    delivery_name: str
    status_name: str
    is_cancelled: bool
    lines: list[ExportedLine] = field(default_factory=list)


class OrdersDocumentInvalid(ValueError):
    """1C's orders document cannot be read; the message says why."""


@dataclass
class OrderUpdate:
    """What 1C says about one order: its number and the requisites the shop applies."""

    number: str
    document_id: str
    status_name: str | None
    paid: bool | None
    cancelled: bool | None


def _add(parent: ET.Element, tag: str, text: object = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        # The library escapes markup but keeps characters XML 1.0 forbids (1C would refuse).
        element.text = _NOT_IN_XML.sub("", str(text))
    return element


def _requisites(parent: ET.Element, values: list[tuple[str, str]]) -> None:
    container = _add(parent, "ЗначенияРеквизитов")
    for name, value in values:
        item = _add(container, "ЗначениеРеквизита")
        _add(item, "Наименование", name)
        _add(item, "Значение", value)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _buyer(document: ET.Element, order: ExportedOrder) -> None:
    buyer = _add(_add(document, "Контрагенты"), "Контрагент")
    _add(buyer, "Ид", order.buyer_id)
    _add(buyer, "Наименование", order.buyer_name)
    _add(buyer, "ПолноеНаименование", order.buyer_name)
    _add(buyer, "Роль", "Покупатель")
    _add(_add(buyer, "АдресРегистрации"), "Представление", order.address)
    contacts = [("Почта", order.email), ("Телефон", order.phone)]
    if any(value for _kind, value in contacts):
        container = _add(buyer, "Контакты")
        for kind, value in contacts:
            if value:
                contact = _add(container, "Контакт")
                _add(contact, "Тип", kind)
                _add(contact, "Значение", value)


def _line(items: ET.Element, line: ExportedLine) -> None:
    item = _add(items, "Товар")
    _add(item, "Ид", line.item_id)
    _add(item, "Наименование", line.name)
    _add(
        item,
        "БазоваяЕдиница",
        "шт",
        Код="796",
        НаименованиеПолное="Штука",
        МеждународноеСокращение="PCE",
    )
    _add(item, "ЦенаЗаЕдиницу", line.price)
    _add(item, "Количество", line.quantity)
    _add(item, "Сумма", line.price * line.quantity)
    _requisites(item, [("ВидНоменклатуры", line.kind), ("ТипНоменклатуры", line.kind)])


def orders_document(orders: list[ExportedOrder], generated_at: datetime) -> bytes:
    """The `query` answer: one `Документ` per order, CommerceML 2.08, UTF-8."""
    root = ET.Element(
        ROOT,
        {
            "ВерсияСхемы": SCHEMA_VERSION,
            "ДатаФормирования": generated_at.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )
    for order in orders:
        document = _add(root, "Документ")
        _add(document, "Ид", order.id)
        _add(document, "Номер", order.id)
        _add(document, "Дата", order.created_at.strftime("%Y-%m-%d"))
        _add(document, "Время", order.created_at.strftime("%H:%M:%S"))
        _add(document, "ХозОперация", "Заказ товара")
        _add(document, "Роль", "Продавец")
        _add(document, "Валюта", "руб")
        _add(document, "Курс", 1)
        _add(document, "Сумма", order.total_sum)
        _buyer(document, order)
        if order.comment:
            _add(document, "Комментарий", order.comment)
        items = _add(document, "Товары")
        for line in order.lines:
            _line(items, line)
        _requisites(
            document,
            [
                ("Метод оплаты", order.payment_method),
                ("Заказ оплачен", _flag(order.is_paid)),
                ("Способ доставки", order.delivery_name),
                ("Статус заказа", order.status_name),
                ("Отменен", _flag(order.is_cancelled)),
            ],
        )
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _local(tag: str) -> str:
    """The name without a namespace (2.08+ documents may declare urn:1C.ru:commerceml_2)."""
    return tag.rsplit("}", 1)[-1]


def _child_text(element: ET.Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return None


def _flag_value(text: str | None) -> bool | None:
    value = (text or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def _order_update(document: ET.Element) -> OrderUpdate | None:
    operation = _child_text(document, "ХозОперация")
    if operation and operation != "Заказ товара":
        return None
    requisites: dict[str, str] = {}
    for child in document:
        if _local(child.tag) != "ЗначенияРеквизитов":
            continue
        for item in child:
            name = _child_text(item, "Наименование")
            if name:
                requisites[name] = _child_text(item, "Значение") or ""
    return OrderUpdate(
        number=_child_text(document, "Номер") or "",
        document_id=_child_text(document, "Ид") or "",
        status_name=requisites.get("Статус заказа") or None,
        paid=_flag_value(requisites.get("Заказ оплачен")),
        cancelled=_flag_value(requisites.get("Отменен")),
    )


def read_order_updates(path: Path) -> list[OrderUpdate]:
    """The order documents of 1C's file, streamed; raises OrdersDocumentInvalid."""
    updates: list[OrderUpdate] = []
    depth = 0
    try:
        for event, element in iterparse(str(path), events=("start", "end"), forbid_dtd=True):
            if event == "start":
                if depth == 0 and _local(element.tag) != ROOT:
                    raise OrdersDocumentInvalid(f"Not a CommerceML document: <{element.tag}>")
                depth += 1
                continue
            depth -= 1
            if _local(element.tag) == "Документ":
                update = _order_update(element)
                if update is not None:
                    updates.append(update)
                element.clear()
    except DefusedXmlException as exc:
        raise OrdersDocumentInvalid(f"Forbidden XML: {type(exc).__name__}") from None
    except ET.ParseError as exc:
        raise OrdersDocumentInvalid(f"Malformed XML: {exc}") from None
    return updates
