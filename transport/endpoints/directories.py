"""Directory routes: `/<kind>/all`, `POST /<kind>`, `GET|PATCH|DELETE /<kind>/<id>`."""

from __future__ import annotations

from sanic import Request

from api.directories import SCHEMAS, CategoryQuerySchema
from services import directories
from transport.http import dump, load_body, load_query, no_content, transaction
from transport.routing import ADMIN, PUBLIC, route

PATH_PARAMS = {
    "materials": "material_id",
    "categories": "category_id",
    "structures": "structure_id",
    "products_care": "products_care_id",
    "sizes": "size_id",
    "colors": "color_id",
    "statuses": "status_id",
    "delivery_types": "delivery_type_id",
}


def _register(kind: str, param: str) -> None:
    out_schema, create_schema, update_schema = SCHEMAS[kind]
    label = directories.DIRECTORIES[kind].label
    detail_auth = PUBLIC if kind == "categories" else ADMIN
    item_path = f"/{kind}/<{param}:int>"

    async def list_all(request: Request):
        filters = load_query(request, CategoryQuerySchema) if kind == "categories" else {}
        async with transaction(request) as session:
            items = await directories.list_items(session, kind, **filters)
        return dump(out_schema, items, many=True)

    async def create(request: Request):
        data = load_body(request, create_schema)
        async with transaction(request) as session:
            item = await directories.create_item(session, kind, data)
        return dump(out_schema, item, status=201)

    async def read(request: Request, **params):
        async with transaction(request) as session:
            item = await directories.get_item(session, kind, params[param])
        return dump(out_schema, item)

    async def update(request: Request, **params):
        data = load_body(request, update_schema)
        async with transaction(request) as session:
            item = await directories.update_item(session, kind, params[param], data)
        return dump(out_schema, item)

    async def delete(request: Request, **params):
        async with transaction(request) as session:
            await directories.delete_item(session, kind, params[param])
        return no_content()

    for handler, verb in (
        (list_all, "list"),
        (create, "create"),
        (read, "read"),
        (update, "update"),
        (delete, "delete"),
    ):
        handler.__name__ = f"{verb}_{kind}"
    query = CategoryQuerySchema if kind == "categories" else None
    route(
        f"/{kind}/all",
        "GET",
        auth=PUBLIC,
        response=out_schema,
        many=True,
        query=query,
        errors=(400,),
        direct_reads=True,
        summary=f"List {label.lower()} items",
    )(list_all)
    route(
        f"/{kind}",
        "POST",
        auth=ADMIN,
        body=create_schema,
        response=out_schema,
        status=201,
        errors=(400, 401, 403, 409),
        summary=f"Create a {label.lower()}",
    )(create)
    route(
        item_path,
        "GET",
        auth=detail_auth,
        response=out_schema,
        errors=(401, 403, 404),
        summary=f"Read a {label.lower()}",
    )(read)
    route(
        item_path,
        "PATCH",
        auth=ADMIN,
        body=update_schema,
        response=out_schema,
        errors=(400, 401, 403, 404, 409),
        summary=f"Edit a {label.lower()}",
    )(update)
    route(
        item_path,
        "DELETE",
        auth=ADMIN,
        status=204,
        errors=(401, 403, 404, 409),
        summary=f"Delete a {label.lower()}",
    )(delete)


for _kind, _param in PATH_PARAMS.items():
    _register(_kind, _param)
