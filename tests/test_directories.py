"""Directory routes: list order, create, read, edit, delete, in-use rule, category rules."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from db.models import Category, Color, Good, Size, Structure, Variation
from tests.support import auth, customer_token

SIMPLE = ["materials", "structures", "products_care", "sizes", "statuses"]
LABELS = {
    "materials": "Material",
    "structures": "Structure",
    "products_care": "Products care",
    "sizes": "Size",
    "statuses": "Status",
    "categories": "Category",
    "colors": "Color",
    "delivery_types": "Delivery type",
}


@pytest.mark.parametrize("kind", SIMPLE)
async def test_a_directory_item_is_created_trimmed_listed_renamed_and_deleted(
    client, admin_headers, kind
):
    created = await client.post(f"/{kind}", json={"name": "  Хлопок "}, headers=admin_headers)
    assert created.status_code == 201
    item = created.json()
    assert item == {"id": item["id"], "name": "Хлопок"}
    await client.post(f"/{kind}", json={"name": "Лён"}, headers=admin_headers)
    listed = (await client.get(f"/{kind}/all")).json()
    assert [i["name"] for i in listed] == ["Хлопок", "Лён"]
    read = await client.get(f"/{kind}/{item['id']}", headers=admin_headers)
    assert read.json() == item
    patched = await client.patch(
        f"/{kind}/{item['id']}", json={"name": "Шерсть"}, headers=admin_headers
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Шерсть"
    deleted = await client.delete(f"/{kind}/{item['id']}", headers=admin_headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    missing = await client.get(f"/{kind}/{item['id']}", headers=admin_headers)
    assert missing.status_code == 404
    assert missing.json() == {"message": f"{LABELS[kind]} not found", "error_code": 404}


@pytest.mark.parametrize("kind", [*SIMPLE, "categories", "colors", "delivery_types"])
async def test_duplicate_name_is_409(client, admin_headers, kind):
    body = {"name": "Дубль", "code": "#fff"}
    assert (await client.post(f"/{kind}", json=body, headers=admin_headers)).status_code == 201
    again = await client.post(f"/{kind}", json={**body, "name": " Дубль "}, headers=admin_headers)
    assert again.status_code == 409
    assert again.json()["message"] == f"{LABELS[kind]} with this name exists"
    other = await client.post(f"/{kind}", json={**body, "name": "Другое"}, headers=admin_headers)
    renamed = await client.patch(
        f"/{kind}/{other.json()['id']}", json={"name": "Дубль"}, headers=admin_headers
    )
    assert renamed.status_code == 409


async def test_validation_names_every_bad_field(client, admin_headers):
    response = await client.post("/colors", json={"name": "", "code": 5}, headers=admin_headers)
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Validation error"
    assert set(body["fields"]) == {"name", "code"}
    too_long = await client.post("/sizes", json={"name": "x" * 256}, headers=admin_headers)
    assert too_long.status_code == 400
    assert "name" in too_long.json()["fields"]
    missing = await client.post("/sizes", json={}, headers=admin_headers)
    assert missing.json()["fields"] == {"name": ["Missing data for required field."]}


async def test_malformed_json_and_non_object_bodies_are_400(client, admin_headers):
    response = await client.post("/sizes", content=b"{oops", headers=admin_headers)
    assert response.status_code == 400
    assert response.json() == {"message": "Invalid JSON body", "error_code": 400}
    response = await client.post("/sizes", json=["name"], headers=admin_headers)
    assert response.status_code == 400
    assert response.json()["message"] == "Validation error"


async def test_unknown_fields_are_ignored_and_patch_is_partial(client, admin_headers):
    created = await client.post(
        "/colors", json={"name": "Красный", "code": "#f00", "extra": 1}, headers=admin_headers
    )
    assert created.status_code == 201
    color_id = created.json()["id"]
    patched = await client.patch(
        f"/colors/{color_id}", json={"code": "#ff0000"}, headers=admin_headers
    )
    assert patched.json() == {"id": color_id, "name": "Красный", "code": "#ff0000"}
    nulled = await client.patch(f"/colors/{color_id}", json={"name": None}, headers=admin_headers)
    assert nulled.status_code == 400


async def test_writes_and_single_reads_need_staff_while_lists_are_public(client, db):
    assert (await client.post("/sizes", json={"name": "XL"})).status_code == 401
    async with db.begin() as session:
        from db.models import Customer

        customer = Customer(
            first_name="И", second_name="П", email="c@example.ru", is_registered=True
        )
        session.add(customer)
        await session.flush()
        customer_id = customer.id
    headers = auth(customer_token(customer_id))
    response = await client.post("/sizes", json={"name": "XL"}, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden", "error_code": 403}
    assert (await client.get("/sizes/1")).status_code == 401
    assert (await client.get("/sizes/all")).status_code == 200


async def test_a_delivery_type_costs_whole_rubles_or_nothing_when_calculated(client, admin_headers):
    fixed = await client.post(
        "/delivery_types", json={"name": "Курьер", "cost": "300"}, headers=admin_headers
    )
    assert fixed.json()["cost"] == 300
    calculated = await client.post(
        "/delivery_types", json={"name": "СДЭК", "cost": None}, headers=admin_headers
    )
    assert calculated.json()["cost"] is None
    bad = await client.post(
        "/delivery_types", json={"name": "Почта", "cost": -1}, headers=admin_headers
    )
    assert bad.status_code == 400
    fraction = await client.post(
        "/delivery_types", json={"name": "Почта", "cost": 10.5}, headers=admin_headers
    )
    assert fraction.status_code == 400
    kind_id = calculated.json()["id"]
    priced = await client.patch(
        f"/delivery_types/{kind_id}", json={"cost": 450}, headers=admin_headers
    )
    assert priced.status_code == 200 and priced.json()["cost"] == 450
    read = await client.get(f"/delivery_types/{kind_id}", headers=admin_headers)
    assert read.json() == {"id": kind_id, "name": "СДЭК", "cost": 450}
    listed = await client.get("/delivery_types/all")
    assert [item["cost"] for item in listed.json()] == [300, 450]


async def test_colors_are_listed_and_read_with_their_codes(client, admin_headers):
    red = await client.post(
        "/colors", json={"name": "Красный", "code": "#f00"}, headers=admin_headers
    )
    color_id = red.json()["id"]
    read = await client.get(f"/colors/{color_id}", headers=admin_headers)
    assert read.json() == {"id": color_id, "name": "Красный", "code": "#f00"}
    listed = await client.get("/colors/all")
    assert listed.json() == [{"id": color_id, "name": "Красный", "code": "#f00"}]


async def test_categories_form_a_tree_found_by_parent_or_transliterated_name_without_cycles(
    client, admin_headers
):
    top = (await client.post("/categories", json={"name": "Платья"}, headers=admin_headers)).json()
    assert top["parent_id"] is None
    child = await client.post(
        "/categories", json={"name": "Летние", "parent_id": str(top["id"])}, headers=admin_headers
    )
    assert child.status_code == 201
    child = child.json()
    assert child["parent_id"] == top["id"]
    assert [c["id"] for c in (await client.get("/categories/all?parent_id=null")).json()] == [
        top["id"]
    ]
    by_parent = (await client.get(f"/categories/all?parent_id={top['id']}")).json()
    assert [c["id"] for c in by_parent] == [child["id"]]
    assert (await client.get("/categories/all?parent_id=abc")).status_code == 400
    translit = (await client.get("/categories/all?name=PLAT'YA")).json()
    assert [c["id"] for c in translit] == [top["id"]]
    assert (await client.get("/categories/all?name=платья")).json()[0]["id"] == top["id"]
    assert (await client.get(f"/categories/{child['id']}")).status_code == 200
    missing_parent = await client.post(
        "/categories", json={"name": "Юбки", "parent_id": 999}, headers=admin_headers
    )
    assert missing_parent.status_code == 400
    assert missing_parent.json()["fields"] == {"parent_id": ["Category not found"]}
    cycle = await client.patch(
        f"/categories/{top['id']}", json={"parent_id": child["id"]}, headers=admin_headers
    )
    assert cycle.status_code == 400
    self_parent = await client.patch(
        f"/categories/{top['id']}", json={"parent_id": top["id"]}, headers=admin_headers
    )
    assert self_parent.status_code == 400
    in_use = await client.delete(f"/categories/{top['id']}", headers=admin_headers)
    assert in_use.status_code == 409
    assert in_use.json()["message"] == "Category is in use"
    to_top = await client.patch(
        f"/categories/{child['id']}", json={"parent_id": None}, headers=admin_headers
    )
    assert to_top.json()["parent_id"] is None
    assert (
        await client.delete(f"/categories/{top['id']}", headers=admin_headers)
    ).status_code == 204


async def test_in_use_items_are_not_deleted(client, admin_headers, db):
    async with db.begin() as session:
        category_id = (
            await session.execute(insert(Category).values(name="К").returning(Category.id))
        ).scalar_one()
        structure_id = (
            await session.execute(insert(Structure).values(name="С").returning(Structure.id))
        ).scalar_one()
        size_id = (
            await session.execute(insert(Size).values(name="M").returning(Size.id))
        ).scalar_one()
        color_id = (
            await session.execute(
                insert(Color).values(name="Синий", code="#00f").returning(Color.id)
            )
        ).scalar_one()
        good_id = (
            await session.execute(
                insert(Good)
                .values(
                    name="Платье",
                    article="A-1",
                    category_id=category_id,
                    structure_id=structure_id,
                    description="",
                )
                .returning(Good.id)
            )
        ).scalar_one()
        await session.execute(
            insert(Variation).values(
                good_id=good_id,
                name="Платье M",
                color_id=color_id,
                size_id=size_id,
                price=100,
                is_delete=True,
            )
        )
    for path, label in (
        (f"/sizes/{size_id}", "Size"),
        (f"/colors/{color_id}", "Color"),
        (f"/structures/{structure_id}", "Structure"),
        (f"/categories/{category_id}", "Category"),
    ):
        response = await client.delete(path, headers=admin_headers)
        assert response.status_code == 409, path
        assert response.json() == {"message": f"{label} is in use", "error_code": 409}
    assert (await client.get(f"/sizes/{size_id}", headers=admin_headers)).status_code == 200


async def test_unknown_ids_are_404(client, admin_headers):
    for kind in LABELS:
        response = await client.patch(f"/{kind}/4242", json={"name": "x"}, headers=admin_headers)
        assert response.status_code == 404
        assert response.json()["message"] == f"{LABELS[kind]} not found"
        response = await client.delete(f"/{kind}/4242", headers=admin_headers)
        assert response.status_code == 404


async def test_ids_beyond_the_id_range_are_404(client, admin_headers):
    for path in ("/sizes/2147483648", "/sizes/99999999999999999999", "/sizes/0"):
        response = await client.get(path, headers=admin_headers)
        assert response.status_code == 404, path
        assert response.json()["message"] == "Size not found"
    body = await client.post(
        "/categories", json={"name": "X", "parent_id": 2**40}, headers=admin_headers
    )
    assert body.status_code == 400
    assert "parent_id" in body.json()["fields"]
