"""CommerceML 2 documents as 1C writes them (2.04 and 2.10 shapes), built for the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, SubElement, tostring

URN = "urn:1C.ru:commerceml_2"
RETAIL = "bd72d8f9-55bc-11d9-848a-00112f43529a"
SALE = "5c3e1a7e-8d2f-11e9-80f0-0050569c2a11"
PRICE_TYPES = ((RETAIL, "Розничная"), (SALE, "Распродажа"))
MAIN_STORE = "2f1c9a10-6a3b-11e8-80e3-0050569c2a11"
SHOP_STORE = "8e4d0b52-6a3b-11e8-80e3-0050569c2a11"
WAREHOUSES = ((MAIN_STORE, "Основной склад"), (SHOP_STORE, "Магазин на Кирова"))
CLASSIFIER = "7c0a3b6e-1f5a-4c8d-9f0e-7e2d1c6b5a41"


@dataclass
class Group:
    id: str
    name: str
    children: list[Group] = field(default_factory=list)


@dataclass
class Product:
    id: str
    name: str
    article: str = ""
    group_id: str | None = None
    description: str = ""
    barcode: str = ""
    code: str = ""
    weight: str | None = None
    deleted: bool = False


@dataclass
class Offer:
    """An offer: `id` is `<good>#<characteristic>` or the good's id alone."""

    id: str
    name: str = ""
    color: str | None = None
    size: str | None = None
    prices: dict[str, str] = field(default_factory=dict)
    stores: dict[str, str] | None = None
    quantity: str | None = None
    barcode: str = ""


def _root(version: str, namespace: bool) -> Element:
    root = Element("КоммерческаяИнформация")
    if namespace:
        root.set("xmlns", URN)
        root.set("xmlns:xs", "http://www.w3.org/2001/XMLSchema")
    root.set("ВерсияСхемы", version)
    root.set("ДатаФормирования", "2026-11-22T10:15:30")
    return root


def _text(parent: Element, tag: str, text: str) -> Element:
    child = SubElement(parent, tag)
    child.text = text
    return child


def _document(root: Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode").encode()


def _groups(parent: Element, groups: list[Group]) -> None:
    container = SubElement(parent, "Группы")
    for group in groups:
        element = SubElement(container, "Группа")
        _text(element, "Ид", group.id)
        _text(element, "Наименование", group.name)
        if group.children:
            _groups(element, group.children)


def import_xml(
    groups: list[Group],
    goods: list[Product],
    version: str = "2.10",
    namespace: bool = True,
    changes_only: bool = False,
) -> bytes:
    """import.xml: the classifier (groups, a property) and the catalogue of goods."""
    root = _root(version, namespace)
    classifier = SubElement(root, "Классификатор")
    _text(classifier, "Ид", CLASSIFIER)
    _text(classifier, "Наименование", "Классификатор (Каталог товаров)")
    _groups(classifier, groups)
    properties = SubElement(SubElement(classifier, "Свойства"), "Свойство")
    _text(properties, "Ид", "a1b2c3d4-0000-4000-8000-00000000cafe")
    _text(properties, "Наименование", "Сезон")
    catalog = SubElement(root, "Каталог", СодержитТолькоИзменения=str(changes_only).lower())
    _text(catalog, "Ид", CLASSIFIER)
    _text(catalog, "ИдКлассификатора", CLASSIFIER)
    _text(catalog, "Наименование", "Каталог товаров")
    products = SubElement(catalog, "Товары")
    for good in goods:
        item = SubElement(products, "Товар", {"Статус": "Удален"} if good.deleted else {})
        _text(item, "Ид", good.id)
        if good.code:
            _text(item, "Код", good.code)
        if good.barcode:
            _text(item, "Штрихкод", good.barcode)
        _text(item, "Артикул", good.article)
        _text(item, "Наименование", good.name)
        SubElement(item, "БазоваяЕдиница", Код="796", НаименованиеПолное="Штука").text = "шт"
        if good.group_id:
            _text(SubElement(item, "Группы"), "Ид", good.group_id)
        if good.description:
            _text(item, "Описание", good.description)
        values = SubElement(item, "ЗначенияРеквизитов")
        for name, value in (("ВидНоменклатуры", "Одежда"), ("ТипНоменклатуры", "Товар")):
            requisite = SubElement(values, "ЗначениеРеквизита")
            _text(requisite, "Наименование", name)
            _text(requisite, "Значение", value)
        if good.weight is not None:
            requisite = SubElement(values, "ЗначениеРеквизита")
            _text(requisite, "Наименование", "Вес")
            _text(requisite, "Значение", good.weight)
    return _document(root)


def offers_xml(
    offers: list[Offer],
    version: str = "2.10",
    namespace: bool = True,
    changes_only: bool | None = False,
    price_types=PRICE_TYPES,
) -> bytes:
    """offers.xml. 2.04 writes stock as Количество and Склад/@КоличествоНаСкладе; 2.10 as
    Остатки/Остаток/Склад. `changes_only` None leaves the attribute out."""
    root = _root(version, namespace)
    package = SubElement(root, "ПакетПредложений")
    if changes_only is not None:
        package.set("СодержитТолькоИзменения", str(changes_only).lower())
    _text(package, "Ид", CLASSIFIER + "#")
    _text(package, "Наименование", "Пакет предложений (Каталог товаров)")
    _text(package, "ИдКаталога", CLASSIFIER)
    _text(package, "ИдКлассификатора", CLASSIFIER)
    if price_types:
        types = SubElement(package, "ТипыЦен")
        for type_id, name in price_types:
            price_type = SubElement(types, "ТипЦены")
            _text(price_type, "Ид", type_id)
            _text(price_type, "Наименование", name)
            _text(price_type, "Валюта", "RUB")
    stores = SubElement(package, "Склады")
    for store_id, name in WAREHOUSES:
        store = SubElement(stores, "Склад")
        _text(store, "Ид", store_id)
        _text(store, "Наименование", name)
    container = SubElement(package, "Предложения")
    for offer in offers:
        _offer(SubElement(container, "Предложение"), offer, version)
    return _document(root)


def _offer(item: Element, offer: Offer, version: str) -> None:
    _text(item, "Ид", offer.id)
    if offer.barcode:
        _text(item, "Штрихкод", offer.barcode)
    if offer.name:
        _text(item, "Наименование", offer.name)
        SubElement(item, "БазоваяЕдиница", Код="796", НаименованиеПолное="Штука").text = "шт"
    if offer.color or offer.size:
        characteristics = SubElement(item, "ХарактеристикиТовара")
        for name, value in (("Цвет", offer.color), ("Размер", offer.size)):
            if value:
                characteristic = SubElement(characteristics, "ХарактеристикаТовара")
                _text(characteristic, "Наименование", name)
                _text(characteristic, "Значение", value)
    if offer.prices:
        prices = SubElement(item, "Цены")
        for type_id, value in offer.prices.items():
            price = SubElement(prices, "Цена")
            _text(price, "Представление", f"{value} RUB за шт")
            _text(price, "ИдТипаЦены", type_id)
            _text(price, "ЦенаЗаЕдиницу", value)
            _text(price, "Валюта", "RUB")
            _text(price, "Единица", "шт")
            _text(price, "Коэффициент", "1")
    if offer.quantity is not None:
        _text(item, "Количество", offer.quantity)
    if offer.stores is None:
        return
    if version < "2.08":
        for store_id, amount in offer.stores.items():
            SubElement(item, "Склад", ИдСклада=store_id, КоличествоНаСкладе=amount)
        return
    rests = SubElement(item, "Остатки")
    for store_id, amount in offer.stores.items():
        store = SubElement(SubElement(rests, "Остаток"), "Склад")
        _text(store, "Ид", store_id)
        _text(store, "Количество", amount)


def rests_xml(stock: dict[str, dict[str, str]], changes_only: bool | None = None) -> bytes:
    """rests.xml of the newer exchange: offers by Ид with their stock per warehouse only."""
    return offers_xml(
        [Offer(offer_id, stores=stores) for offer_id, stores in stock.items()],
        changes_only=changes_only,
        price_types=(),
    )


def prices_xml(prices: dict[str, dict[str, str]], changes_only: bool | None = None) -> bytes:
    """prices.xml of the newer exchange: offers by Ид with their prices only."""
    return offers_xml(
        [Offer(offer_id, prices=values) for offer_id, values in prices.items()],
        changes_only=changes_only,
    )


# The sample catalogue: three goods in two levels of groups, four offers.
DRESS, SKIRT, SCARF = (
    "3f6c1d0e-6b1a-11ee-80f1-0050569c2a11",
    "4a7d2e1f-6b1a-11ee-80f1-0050569c2a11",
    "5b8e3f20-6b1a-11ee-80f1-0050569c2a11",
)
RED_44, RED_46, BLUE_44 = (
    f"{DRESS}#c0a1",
    f"{DRESS}#c0a2",
    f"{SKIRT}#c0b1",
)
CATALOGUE_GROUPS = [
    Group(
        "e1",
        "Женская одежда",
        [Group("e2", "Платья"), Group("e3", "Юбки")],
    ),
    Group("e4", "Аксессуары"),
]
CATALOGUE_GOODS = [
    Product(DRESS, "Платье «Лето»", "VN-001", "e2", "Лёгкое платье из хлопка", weight="0.350"),
    Product(SKIRT, "Юбка плиссе", "VN-002", "e3", barcode="4600000000028"),
    Product(SCARF, "Шарф шерстяной", "VN-003", "e4", code="00-00000003", weight="0,12"),
]


def catalogue_offers(**stock) -> list[Offer]:
    both = {MAIN_STORE: "3", SHOP_STORE: "2"}
    return [
        Offer(
            RED_44,
            "Платье «Лето» (Красный, 44)",
            "Красный",
            "44",
            {RETAIL: "4990.50", SALE: "3990"},
            stock.get("red_44", both),
        ),
        Offer(RED_46, "Платье «Лето» (Красный, 46)", "Красный", "46", {RETAIL: "4990"}, {}),
        Offer(
            BLUE_44,
            "Юбка плиссе (Синий, 44)",
            "Синий",
            "44",
            {RETAIL: "2990", SALE: "2990"},
            stock.get("blue_44", {MAIN_STORE: "7"}),
        ),
        Offer(SCARF, "Шарф шерстяной", prices={RETAIL: "1490"}, stores={SHOP_STORE: "4"}),
    ]
