"""CommerceML 2 catalogue files (import.xml, offers.xml, rests, prices): streamed, hardened reader.

The file is read with defusedxml over the standard library's iterparse: a DOCTYPE, entity
declarations and external references are refused, so nothing can expand or fetch. Elements are
dropped as soon as they are read, so memory stays bounded whatever the file size. Element names
are matched without their namespace (1C writes `urn:1C.ru:commerceml_2`, some versions none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError
from xml.parsers.expat import errors as expat_errors

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

ROOT = "КоммерческаяИнформация"
SECTIONS = ("Классификатор", "Каталог", "ПакетПредложений")
MAX_ID_LENGTH = 255
_NUMBER = re.compile(r"[+-]?\d{1,15}(?:[.,]\d{1,12})?")
_BLANKS = re.compile(r"[\s\u00a0\u202f]")
_TRUNCATED = {
    expat_errors.XML_ERROR_NO_ELEMENTS,
    expat_errors.XML_ERROR_UNCLOSED_TOKEN,
    expat_errors.XML_ERROR_PARTIAL_CHAR,
    expat_errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
}


class CommerceMLError(Exception):
    """The file cannot be read as a CommerceML catalogue; the message is for 1C's operator."""


@dataclass(frozen=True, slots=True)
class BadNumber:
    """A number field whose text is not a number (kept to report it)."""

    text: str


Number = Decimal | BadNumber


@dataclass(frozen=True, slots=True)
class Section:
    """The start of Классификатор, Каталог or ПакетПредложений, with its flag."""

    name: str
    changes_only: bool
    schema_version: str


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    name: str
    parent_id: str | None


@dataclass(frozen=True, slots=True)
class Property:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Good:
    id: str
    code: str
    name: str
    article: str
    barcode: str
    description: str
    group_id: str | None
    weight: Number | None
    deleted: bool


@dataclass(frozen=True, slots=True)
class PriceType:
    id: str
    name: str
    currency: str


@dataclass(frozen=True, slots=True)
class Warehouse:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Price:
    type_id: str
    value: Number


@dataclass(frozen=True, slots=True)
class Offer:
    id: str
    name: str
    barcode: str
    characteristics: tuple[tuple[str, str], ...]
    prices: tuple[Price, ...]
    quantity: Number | None
    warehouse_quantities: tuple[Number, ...]

    @property
    def good_id(self) -> str:
        return self.id.partition("#")[0]

    @property
    def has_stock(self) -> bool:
        return self.quantity is not None or bool(self.warehouse_quantities)


Record = Section | Group | Property | Good | PriceType | Warehouse | Offer


def read_commerceml(path: Path | str) -> Iterator[Record]:
    """The records of the file in document order; raises CommerceMLError.

    CPU-bound: iterate it in a worker thread. Records read before an error were valid, but the
    caller must not keep their effect (the file is all-or-nothing).
    """
    reader = _Reader()
    try:
        with open(path, "rb") as source:
            for event, element in iterparse(source, ("start", "end"), forbid_dtd=True):
                record = reader.start(element) if event == "start" else reader.end(element)
                if record is not None:
                    yield record
    except DefusedXmlException:
        raise CommerceMLError(
            "XML with a DOCTYPE, entity declarations or external references is refused"
        ) from None
    except ParseError as exc:
        raise CommerceMLError(_parse_error_reason(exc, reader.started)) from None
    except (LookupError, UnicodeError) as exc:
        raise CommerceMLError(f"The file's encoding cannot be read: {exc}") from None
    except OSError as exc:
        raise CommerceMLError(f"The file cannot be read: {exc.strerror}") from None
    if not reader.sections:
        raise CommerceMLError(
            "No Классификатор, Каталог or ПакетПредложений in the file: not a catalogue file"
        )


def _parse_error_reason(exc: ParseError, started: bool) -> str:
    line, column = exc.position
    message = str(exc).split(":")[0]
    if message in _TRUNCATED:
        if not started:
            return "The file is empty or not XML"
        return f"The file ends before its XML document does (truncated at line {line})"
    if message == expat_errors.XML_ERROR_INVALID_TOKEN:
        return (
            f"Invalid XML at line {line}, column {column}: {message} "
            "(not XML, or bytes that do not match the declared encoding)"
        )
    return f"Invalid XML at line {line}, column {column}: {message}"


class _Reader:
    """Turns iterparse events into records and drops every element once it is read."""

    # (parent, element) pairs whose whole subtree makes one record.
    SUBTREES = {
        ("Свойства", "Свойство"): "_property",
        ("Товары", "Товар"): "_good",
        ("ТипыЦен", "ТипЦены"): "_price_type",
        ("Склады", "Склад"): "_warehouse",
        ("Предложения", "Предложение"): "_offer",
    }

    def __init__(self):
        self.stack: list[Element] = []
        self.started = False
        self.version = ""
        self.sections: list[str] = []
        self.record_depth = 0
        self.groups: list[dict] = []
        self.counts: dict[str, int] = {}

    def start(self, element: Element) -> Record | None:
        element.tag = tag = element.tag.rpartition("}")[2]
        stack = self.stack
        parent = stack[-1].tag if stack else None
        stack.append(element)
        if self.record_depth:
            return None
        if parent is None:
            if tag != ROOT:
                raise CommerceMLError(f"Not a CommerceML file: the root element is <{tag}>")
            self.started = True
            self.version = element.get("ВерсияСхемы", "")
            return None
        if len(stack) == 2:
            if tag == "Документ":
                raise CommerceMLError("The file holds documents (orders), not a catalogue")
            if tag in SECTIONS:
                self.sections.append(tag)
                return Section(tag, _flag(element.get("СодержитТолькоИзменения")), self.version)
            return None
        if (parent, tag) in self.SUBTREES:
            self.record_depth = len(stack)
        elif tag == "Группа" and parent == "Группы" and self._in_classifier():
            self.groups.append({"element": element, "id": "", "name": "", "emitted": False})
        elif tag == "Группы" and parent == "Группа" and self.groups:
            return self._group()
        return None

    def end(self, element: Element) -> Record | None:
        stack = self.stack
        depth = len(stack)
        stack.pop()
        if self.record_depth:
            if depth > self.record_depth:
                return None
            self.record_depth = 0
            record = getattr(self, self.SUBTREES[(stack[-1].tag, element.tag)])(element)
            self._drop(element)
            return record
        if not stack:
            return None
        parent, tag, record = stack[-1], element.tag, None
        groups = self.groups
        if groups and parent is groups[-1]["element"] and tag in ("Ид", "Наименование"):
            groups[-1]["id" if tag == "Ид" else "name"] = (element.text or "").strip()
        elif groups and element is groups[-1]["element"]:
            record = self._group()
            groups.pop()
        elif depth == 3 and tag == "СодержитТолькоИзменения":
            record = Section(parent.tag, _flag(element.text), self.version)
        self._drop(element)
        return record

    def _drop(self, element: Element) -> None:
        element.clear()
        self.stack[-1].remove(element)

    def _in_classifier(self) -> bool:
        return len(self.stack) > 2 and self.stack[1].tag == "Классификатор"

    def _group(self) -> Group | None:
        frame = self.groups[-1]
        if frame["emitted"]:
            return None
        frame["emitted"] = True
        group_id = _checked_id(frame["id"], "Группа", frame["name"])
        if not frame["name"]:
            raise CommerceMLError(f"Группа {group_id} has no Наименование")
        parent = self.groups[-2]["id"] if len(self.groups) > 1 else None
        return Group(group_id, frame["name"], parent or None)

    def _numbered_id(self, element: Element, kind: str) -> str:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        label = f"{kind} number {self.counts[kind]}"
        return _checked_id(_text(element, "Ид"), label, _text(element, "Наименование"))

    def _property(self, element: Element) -> Property:
        return Property(self._numbered_id(element, "Свойство"), _text(element, "Наименование"))

    def _price_type(self, element: Element) -> PriceType:
        return PriceType(
            self._numbered_id(element, "ТипЦены"),
            _text(element, "Наименование"),
            _text(element, "Валюта"),
        )

    def _warehouse(self, element: Element) -> Warehouse:
        return Warehouse(self._numbered_id(element, "Склад"), _text(element, "Наименование"))

    def _good(self, element: Element) -> Good:
        good_id = self._numbered_id(element, "Товар")
        weight = None
        for item in element.iterfind("ЗначенияРеквизитов/ЗначениеРеквизита"):
            if _text(item, "Наименование").casefold() == "вес":
                weight = _number(_text(item, "Значение"))
        status = element.get("Статус") or _text(element, "Статус")
        return Good(
            id=good_id,
            code=_text(element, "Код"),
            name=_text(element, "Наименование"),
            article=_text(element, "Артикул"),
            barcode=_text(element, "Штрихкод"),
            description=_text(element, "Описание"),
            group_id=_text(element, "Группы/Ид") or None,
            weight=weight,
            deleted=status.casefold() == "удален",
        )

    def _offer(self, element: Element) -> Offer:
        offer_id = self._numbered_id(element, "Предложение")
        characteristics = tuple(
            (_text(item, "Наименование"), _text(item, "Значение"))
            for item in element.iterfind("ХарактеристикиТовара/ХарактеристикаТовара")
        )
        prices = tuple(
            Price(_text(item, "ИдТипаЦены"), _required_number(_text(item, "ЦенаЗаЕдиницу")))
            for item in element.iterfind("Цены/Цена")
        )
        quantity = element.find("Количество")
        by_warehouse = [
            _required_number(item.get("КоличествоНаСкладе", ""))
            for item in element.iterfind("Склад")
            if item.get("КоличествоНаСкладе") is not None
        ]
        rests = element.find("Остатки")
        if rests is not None and quantity is None and not len(rests):
            quantity = rests  # no remains listed: none anywhere
        for rest in element.iterfind("Остатки/Остаток"):
            total = rest.find("Количество")
            if total is not None and quantity is None:
                quantity = total
            by_warehouse.extend(
                _required_number(_text(store, "Количество")) for store in rest.iterfind("Склад")
            )
        return Offer(
            id=offer_id,
            name=_text(element, "Наименование"),
            barcode=_text(element, "Штрихкод"),
            characteristics=characteristics,
            prices=prices,
            quantity=None if quantity is None else _required_number(quantity.text or "0"),
            warehouse_quantities=tuple(by_warehouse),
        )


def _text(element: Element, path: str) -> str:
    return (element.findtext(path) or "").strip()


def _checked_id(value: str, label: str, name: str) -> str:
    if not value:
        named = f" ({name[:60]})" if name else ""
        raise CommerceMLError(f"{label}{named} has no Ид")
    if len(value) > MAX_ID_LENGTH:
        raise CommerceMLError(f"{label} has an Ид longer than {MAX_ID_LENGTH} characters")
    return value


def _flag(value: str | None) -> bool:
    text = (value or "").strip().lower()
    if text in ("", "false", "0"):
        return False
    if text in ("true", "1"):
        return True
    raise CommerceMLError(f"СодержитТолькоИзменения must be true or false, not {text[:20]!r}")


def _number(text: str) -> Number | None:
    """A decimal as 1C writes it (`.` or `,`, spaces as separators); None when empty."""
    compact = _BLANKS.sub("", text)
    if not compact:
        return None
    if not _NUMBER.fullmatch(compact):
        return BadNumber(text[:40])
    return Decimal(compact.replace(",", "."))


def _required_number(text: str) -> Number:
    number = _number(text)
    return BadNumber("") if number is None else number
