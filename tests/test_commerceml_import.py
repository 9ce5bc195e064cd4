"""1C CommerceML catalogue import: the C2 mapping for 2.04 and 2.10 files, split rests and prices
files, changes-only packages, reservations kept, skipped items counted; read back over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import OutboxMessage, Variation
from services.errors import ExchangeSettingMissing
from tests import factories
from tests.commerceml_docs import (
    BLUE_44,
    CATALOGUE_GOODS,
    CATALOGUE_GROUPS,
    DRESS,
    MAIN_STORE,
    RED_44,
    RED_46,
    RETAIL,
    SALE,
    SCARF,
    SHOP_STORE,
    SKIRT,
    Group,
    Offer,
    Product,
    catalogue_offers,
    import_xml,
    offers_xml,
    prices_xml,
    rests_xml,
)
from tests.factories import first_exchange, good_id, snapshot


async def variation_ids(db) -> dict[str, int]:
    async with db.session() as session:
        rows = await session.execute(select(Variation.one_c_guid, Variation.id))
        return {guid: vid for guid, vid in rows if guid}


async def test_first_exchange_fills_an_empty_shop(
    client, admin_headers, db, import_file, onec_settings
):
    catalog, offers = await first_exchange(import_file, onec_settings)
    assert (catalog.kind, offers.kind) == ("catalog", "offers")
    assert catalog.counts["groups_created"] == 4 and catalog.counts["goods_created"] == 3
    assert offers.counts["offers_created"] == 4
    categories = (await client.get("/categories/all")).json()
    by_name = {category["name"]: category for category in categories}
    assert by_name["Платья"]["parent_id"] == by_name["Женская одежда"]["id"]
    assert by_name["Юбки"]["parent_id"] == by_name["Женская одежда"]["id"]
    assert by_name["Аксессуары"]["parent_id"] is None

    assert (await client.get("/goods/all")).json() == []  # new goods wait for staff
    dress_id = await good_id(db, DRESS)
    dress = (await client.get(f"/goods/{dress_id}", headers=admin_headers)).json()
    assert (
        dress["is_visible"] is False
        and dress["structure_id"] == onec_settings.ONEC_DEFAULT_STRUCTURE_ID
    )
    assert dress["category_name"] == "Платья" and dress["article"] == "VN-001"
    assert dress["description"] == "Лёгкое платье из хлопка" and float(dress["weight"]) == 0.35
    red_44 = next(v for v in dress["variations"] if v["name"].endswith("(Красный, 44)"))
    assert (red_44["price"], red_44["discounted_price"]) == (4991, 3990)  # half up
    assert (red_44["stock"], red_44["amount"], red_44["reserved"]) == (5, 5, 0)
    assert red_44["color"] == {"id": red_44["color_id"], "name": "Красный", "code": ""}
    assert red_44["size"]["name"] == "44"

    for guid in (DRESS, SKIRT, SCARF):
        patched = await client.patch(
            f"/goods/{await good_id(db, guid)}", json={"is_visible": True}, headers=admin_headers
        )
        assert patched.status_code == 200
    storefront = (await client.get("/goods/all")).json()
    assert [good["name"] for good in storefront] == [good.name for good in CATALOGUE_GOODS]
    ids = await variation_ids(db)
    skirt = (await client.get(f"/variations/{ids[BLUE_44]}")).json()
    assert (skirt["price"], skirt["discounted_price"], skirt["amount"]) == (2990, None, 7)
    scarf = (await client.get(f"/variations/{ids[SCARF]}")).json()
    assert (scarf["color"]["name"], scarf["size_name"], scarf["amount"]) == (
        "Без цвета",
        "Без размера",
        4,
    )
    assert (await client.get(f"/variations/{ids[RED_46]}")).json()["stock"] == 0
    events = await factories.outbox_payloads(db, "RemainsUpdated")
    assert [event["data"]["source"] for event in events] == ["commerceml"]
    assert events[0]["data"]["updated"] == 4

    again_catalog, again_offers = await first_exchange(import_file, onec_settings)
    assert again_catalog.counts["goods_unchanged"] == 3
    assert again_catalog.counts["groups_matched"] == 4
    assert again_offers.counts["offers_unchanged"] == 4
    assert again_offers.counts["offers_created"] == 0
    assert len(await variation_ids(db)) == 4


@pytest.mark.parametrize("version,namespace", [("2.04", False), ("2.04", True), ("2.10", False)])
async def test_every_version_and_namespace_imports_the_same_catalogue(
    client, db, import_file, onec_settings, version, namespace
):
    catalog, offers = await first_exchange(import_file, onec_settings, version, namespace)
    assert catalog.counts["goods_created"] == 3 and offers.counts["offers_created"] == 4
    ids = await variation_ids(db)
    red_44 = (await client.get(f"/variations/{ids[RED_44]}")).json()
    assert (red_44["price"], red_44["stock"]) == (4991, 5)
    scarf = (await client.get(f"/variations/{ids[SCARF]}")).json()
    assert scarf["stock"] == 4


async def test_site_data_is_matched_not_duplicated(
    client, admin_headers, db, import_file, onec_settings
):
    refs = await factories.directories(client, admin_headers)
    site_dress = await factories.good(
        client, admin_headers, refs, article="VN-001", description="Текст сайта"
    )
    site_scarf = await factories.good(
        client, admin_headers, refs, article="SCARF-OLD", good_1c_id="00-00000003"
    )
    by_barcode = await factories.variation(
        client, admin_headers, site_dress["id"], refs["red"], refs["s"], barcode="4600000000011"
    )
    by_names = await factories.variation(
        client, admin_headers, site_dress["id"], refs["blue"], refs["m"]
    )
    scarf_only = await factories.variation(
        client, admin_headers, site_scarf["id"], refs["red"], refs["s"]
    )
    goods = [
        Product(DRESS, "Платье «Лето»", "VN-001", "e2", "Новый текст 1С", weight="0.4"),
        Product(SCARF, "Шарф шерстяной", "VN-003", "e5", code="00-00000003"),
    ]
    groups = [Group("e5", "Платья")]
    catalog = await import_file(onec_settings, import_xml(groups, goods))
    assert catalog.counts["goods_updated"] == 2 and catalog.counts["goods_created"] == 0
    assert catalog.counts["groups_matched"] == 1 and catalog.counts["groups_created"] == 0
    dress = (await client.get(f"/goods/{site_dress['id']}", headers=admin_headers)).json()
    assert dress["description"] == "Текст сайта"  # site texts are not overwritten
    assert float(dress["weight"]) == 0.4 and dress["is_visible"] is True
    scarf = (await client.get(f"/goods/{site_scarf['id']}", headers=admin_headers)).json()
    assert scarf["article"] == "VN-003" and scarf["category_name"] == "Платья"

    offers = [
        Offer(
            f"{DRESS}#1",
            "Платье (Красный, S)",
            "Красный",
            "S",
            {RETAIL: "5100"},
            quantity="1",
            barcode="4600000000011",
        ),
        Offer(f"{DRESS}#2", "Платье (Синий, M)", "синий", "M", {RETAIL: "5200"}, quantity="2"),
        Offer(f"{DRESS}#3", "Платье (Синий, L)", "Синий", "L", {RETAIL: "5300"}, quantity="3"),
        Offer(SCARF, "Шарф", prices={RETAIL: "990"}, quantity="9"),
    ]
    report = await import_file(onec_settings, offers_xml(offers), "offers.xml")
    assert report.counts["offers_created"] == 1 and report.counts["sizes_created"] == 1
    assert report.counts["colors_created"] == 0
    ids = await variation_ids(db)
    assert ids[f"{DRESS}#1"] == by_barcode["id"] and ids[f"{DRESS}#2"] == by_names["id"]
    assert ids[SCARF] == scarf_only["id"]
    matched = (await client.get(f"/variations/{by_names['id']}")).json()
    assert (matched["price"], matched["stock"], matched["name"]) == (5200, 2, "Платье (Синий, M)")


async def test_reservations_survive_and_only_a_full_package_zeroes_unlisted_offers(
    client, admin_headers, db, import_file, onec_settings
):
    await first_exchange(import_file, onec_settings)
    for guid in (DRESS, SKIRT):
        await client.patch(
            f"/goods/{await good_id(db, guid)}", json={"is_visible": True}, headers=admin_headers
        )
    bordeaux = await factories.post(
        client, "/colors", {"name": "Бордовый", "code": "#800"}, admin_headers
    )
    xs = await factories.post(client, "/sizes", {"name": "XS"}, admin_headers)
    courier = await factories.post(
        client, "/delivery_types", {"name": "Курьер", "cost": 300}, admin_headers
    )
    await factories.post(client, "/statuses", {"name": "Новый"}, admin_headers)
    site_only = await factories.variation(
        client, admin_headers, await good_id(db, SKIRT), bordeaux, xs, amount=6
    )
    ids = await variation_ids(db)
    placed = await client.post(
        "/orders",
        json={
            "first_name": "Анна",
            "second_name": "Покупатель",
            "phone_number": "+79120000001",
            "email": "anna@example.ru",
            "delivery_type_id": courier["id"],
            "delivery_cost": 300,
            "city": "Челябинск",
            "street": "Тополиная",
            "delivery_address": "Челябинск, Тополиная 11",
            "variations": [{"variation_id": ids[RED_44], "amount": 2, "current_price": 3990}],
        },
    )
    assert placed.status_code == 201, placed.text

    changed = catalogue_offers(red_44={MAIN_STORE: "10"})[:1]
    report = await import_file(onec_settings, offers_xml(changed, changes_only=True), "offers.xml")
    assert report.counts["offers_updated"] == 1 and report.counts["stock_zeroed"] == 0
    red_44 = (await client.get(f"/variations/{ids[RED_44]}")).json()
    assert (red_44["stock"], red_44["reserved"], red_44["amount"]) == (10, 2, 8)
    assert (await client.get(f"/variations/{ids[BLUE_44]}")).json()["stock"] == 7

    full = [offer for offer in catalogue_offers() if offer.id != BLUE_44]
    report = await import_file(onec_settings, offers_xml(full, changes_only=None), "offers.xml")
    assert report.counts["stock_zeroed"] == 1
    assert (await client.get(f"/variations/{ids[BLUE_44]}")).json()["stock"] == 0
    red_44 = (await client.get(f"/variations/{ids[RED_44]}")).json()
    assert (red_44["stock"], red_44["reserved"], red_44["amount"]) == (5, 2, 3)
    assert (await client.get(f"/variations/{site_only['id']}")).json()["stock"] == 6


async def test_a_prices_file_changes_prices_only_and_a_rests_file_only_its_offers(
    client, admin_headers, db, app, import_file, onec_settings
):
    await first_exchange(import_file, onec_settings)
    for guid in (DRESS, SKIRT, SCARF):
        await client.patch(
            f"/goods/{await good_id(db, guid)}", json={"is_visible": True}, headers=admin_headers
        )
    ids = await variation_ids(db)
    etag = (await client.get("/goods/all")).headers["etag"]
    report = await import_file(
        onec_settings, prices_xml({RED_44: {RETAIL: "5500", SALE: "4400"}}), "prices.xml"
    )
    assert report.kind == "prices" and report.counts["offers_updated"] == 1
    red_44 = (await client.get(f"/variations/{ids[RED_44]}")).json()
    assert (red_44["price"], red_44["discounted_price"], red_44["stock"]) == (5500, 4400, 5)
    assert (await client.get(f"/variations/{ids[BLUE_44]}")).json()["stock"] == 7
    assert (await client.get("/goods/all")).headers["etag"] != etag

    rests = {RED_46: {MAIN_STORE: "1", SHOP_STORE: "1"}, f"{DRESS}#unknown": {MAIN_STORE: "1"}}
    report = await import_file(onec_settings, rests_xml(rests), "rests.xml")
    assert report.kind == "rests" and report.counts["offers_skipped_unknown"] == 1
    assert (await client.get(f"/variations/{ids[RED_46]}")).json()["stock"] == 2
    # Rests come in parts in the newer exchange: one part does not zero the others.
    assert (await client.get(f"/variations/{ids[RED_44]}")).json()["stock"] == 5
    events = await factories.outbox_payloads(db, "RemainsUpdated")
    assert [event["data"]["unknown_codes"] for event in events] == [0, 1]


async def test_skipped_items_are_counted_and_change_nothing_else(
    client, db, import_file, onec_settings
):
    await first_exchange(import_file, onec_settings)
    ids = await variation_ids(db)
    offers = [
        Offer(RED_44, "Платье (Красный, 44)", prices={RETAIL: "12,5 руб."}, quantity="-3"),
        Offer(RED_46, "Платье (Красный, 46)", prices={RETAIL: "4990"}, quantity="2.75"),
        Offer(BLUE_44, "Юбка плиссе (Синий, 44)", prices={RETAIL: "2990"}, quantity="много"),
        Offer(f"{DRESS}#new", "Платье (Зелёный, 48)", "Зелёный", "48", {SALE: "100"}, {}),
        Offer("ffffffff-0000-4000-8000-000000000000#1", "Чужое", prices={RETAIL: "1"}),
    ]
    report = await import_file(onec_settings, offers_xml(offers, changes_only=True), "offers.xml")
    assert {key: value for key, value in report.counts.items() if value} == {
        "offers_updated": 2,
        "offers_unchanged": 1,
        "offers_skipped_unknown_good": 1,
        "offers_skipped_no_price": 1,
        "prices_invalid": 1,
        "quantities_invalid": 1,
        "quantities_negative": 1,
        "quantities_fractional": 1,
    }
    red_44 = (await client.get(f"/variations/{ids[RED_44]}")).json()
    assert (red_44["price"], red_44["stock"]) == (4991, 0)
    assert (await client.get(f"/variations/{ids[RED_46]}")).json()["stock"] == 2
    assert (await client.get(f"/variations/{ids[BLUE_44]}")).json()["stock"] == 7
    assert len(await variation_ids(db)) == 4
    # In a full package too, an offer whose quantity is unreadable is listed: not zeroed.
    full = [offer for offer in catalogue_offers() if offer.id != BLUE_44]
    full.append(Offer(BLUE_44, "Юбка плиссе (Синий, 44)", prices={RETAIL: "2990"}))
    full[-1].quantity = "много"
    report = await import_file(onec_settings, offers_xml(full), "offers.xml")
    assert report.counts["quantities_invalid"] == 1 and report.counts["stock_zeroed"] == 0
    assert (await client.get(f"/variations/{ids[BLUE_44]}")).json()["stock"] == 7


async def test_a_missing_structure_or_price_type_setting_stops_the_import_unchanged(
    db, import_file, onec_settings, client
):
    before = await snapshot(db)
    with pytest.raises(ExchangeSettingMissing, match="ONEC_DEFAULT_STRUCTURE_ID"):
        await import_file(
            onec_settings.replace(ONEC_DEFAULT_STRUCTURE_ID=None),
            import_xml(CATALOGUE_GROUPS, CATALOGUE_GOODS),
        )
    with pytest.raises(ExchangeSettingMissing, match="names no structure"):
        await import_file(
            onec_settings.replace(ONEC_DEFAULT_STRUCTURE_ID=9999),
            import_xml(CATALOGUE_GROUPS, CATALOGUE_GOODS),
        )
    assert await snapshot(db) == before
    await import_file(onec_settings, import_xml(CATALOGUE_GROUPS, CATALOGUE_GOODS))
    before = await snapshot(db)
    offers = offers_xml(catalogue_offers())
    with pytest.raises(ExchangeSettingMissing, match=f"{RETAIL} \\(Розничная\\)"):
        await import_file(onec_settings.replace(ONEC_PRICE_TYPE_ID=""), offers, "offers.xml")
    with pytest.raises(ExchangeSettingMissing, match="ONEC_SALE_PRICE_TYPE_ID = Опт"):
        await import_file(
            onec_settings.replace(ONEC_SALE_PRICE_TYPE_ID="Опт"), offers, "offers.xml"
        )
    assert await snapshot(db) == before
    by_name = onec_settings.replace(ONEC_PRICE_TYPE_ID="розничная", ONEC_SALE_PRICE_TYPE_ID="")
    report = await import_file(by_name, offers, "offers.xml")
    assert report.counts["offers_created"] == 4
    ids = await variation_ids(db)
    assert (await client.get(f"/variations/{ids[RED_44]}")).json()["discounted_price"] is None


async def test_goods_deleted_in_1c_are_hidden_and_metrics_count_items(
    client, admin_headers, db, import_file, onec_settings
):
    await first_exchange(import_file, onec_settings)
    dress_id = await good_id(db, DRESS)
    await client.patch(f"/goods/{dress_id}", json={"is_visible": True}, headers=admin_headers)
    deleted = [
        Product(DRESS, "Платье «Лето»", "VN-001", "e2", deleted=True),
        Product("6c9f4031-6b1a-11ee-80f1-0050569c2a11", "Снятое", "VN-009", deleted=True),
    ]
    report = await import_file(onec_settings, import_xml([], deleted))
    assert report.counts["goods_hidden"] == 1 and report.counts["goods_skipped_deleted"] == 1
    dress = (await client.get(f"/goods/{dress_id}", headers=admin_headers)).json()
    assert dress["is_visible"] is False
    metrics = (await client.get("/metrics")).text
    assert 'onec_import_items_total{kind="good",result="created"}' in metrics
    assert 'onec_import_items_total{kind="offer",result="created"}' in metrics


async def test_progress_is_reported_per_thousand_items(db, import_file, onec_settings):
    goods = [
        Product(f"00000000-0000-4000-8000-{i:012d}", f"Товар {i}", f"A-{i}") for i in range(2300)
    ]
    seen = []
    report = await import_file(onec_settings, import_xml([], goods), progress=seen.append)
    assert seen == [1000, 2000, 2300]
    assert report.counts["goods_created"] == 2300 and report.counts["groups_created"] == 1
    async with db.session() as session:
        outbox = await session.scalar(select(OutboxMessage.id).limit(1))
    assert outbox is None  # a catalogue file carries no remains


async def test_a_classifier_alone_nests_groups_and_a_changes_flag_element_zeroes_nothing(
    client, db, import_file, onec_settings
):
    deep = [Group("d1", "Одежда", [Group("d2", "Женская", [Group("d3", "Платья макси")])])]
    report = await import_file(onec_settings, import_xml(deep, []))
    assert report.kind == "catalog" and report.counts["groups_created"] == 3
    by_name = {item["name"]: item for item in (await client.get("/categories/all")).json()}
    assert by_name["Платья макси"]["parent_id"] == by_name["Женская"]["id"]
    assert by_name["Женская"]["parent_id"] == by_name["Одежда"]["id"]

    await first_exchange(import_file, onec_settings, version="2.04")
    ids = await variation_ids(db)
    only_red = offers_xml(catalogue_offers()[:1], version="2.04", changes_only=None)
    flagged = only_red.replace(
        "<ПакетПредложений>".encode(),
        "<ПакетПредложений><СодержитТолькоИзменения>true</СодержитТолькоИзменения>".encode(),
    )
    report = await import_file(onec_settings, flagged, "offers.xml")
    assert report.counts["stock_zeroed"] == 0
    assert (await client.get(f"/variations/{ids[BLUE_44]}")).json()["stock"] == 7
