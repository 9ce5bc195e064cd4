"""Goods routes and the storefront catalogue `GET /goods/all`."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, empty

from api.goods import (
    CatalogQuerySchema,
    GoodCreateSchema,
    GoodDetailSchema,
    GoodSchema,
    GoodUpdateSchema,
    StorefrontGoodSchema,
)
from api.variations import VariationFullSchema
from services import catalog, goods
from services.catalog_cache import CachedPage
from transport.http import (
    accepts_gzip,
    dump,
    load_body,
    load_query,
    no_content,
    renderer,
    reply_body,
    reply_bytes,
    transaction,
)
from transport.routing import ADMIN, PUBLIC, route

GOOD = "/goods/<good_id:int>"
CATALOG_CACHE_CONTROL = "public, max-age=0, must-revalidate"


@route(
    "/goods",
    "POST",
    auth=ADMIN,
    body=GoodCreateSchema,
    response=GoodSchema,
    status=201,
    errors=(400, 401, 403, 409),
    summary="Create a good",
)
async def create_good(request: Request):
    data = load_body(request, GoodCreateSchema)
    async with transaction(request) as session:
        good = await goods.create_good(session, data)
    return dump(GoodSchema, good, status=201)


@route(
    "/goods/all",
    "GET",
    auth=PUBLIC,
    query=CatalogQuerySchema,
    response=StorefrontGoodSchema,
    many=True,
    errors=(400,),
    summary="Storefront catalogue (array; X-Total-Count with page)",
)
async def storefront(request: Request) -> HTTPResponse | None:
    cache = request.app.ctx.catalog_cache
    filters = cache.filters_of(
        request.query_string,
        lambda: catalog.storefront_filters(load_query(request, CatalogQuerySchema)),
    )
    render = renderer(StorefrontGoodSchema, many=True)
    page = await catalog.storefront_page(request.app.ctx.db, cache, filters, render)
    return await _page_response(request, page, paged="page" in filters)


async def _page_response(request: Request, page: CachedPage, paged: bool) -> HTTPResponse | None:
    """The page gzipped when the client accepts it (each form with its own ETag), or 304
    when the client holds either form."""
    gzipped = page.gzip_body is not None and accepts_gzip(request)
    headers = {
        "ETag": page.gzip_etag if gzipped else page.etag,
        "Cache-Control": CATALOG_CACHE_CONTROL,
        "Vary": "Accept-Encoding",
    }
    if paged:
        headers["X-Total-Count"] = str(page.total)
    held = request.headers.get("if-none-match", "")
    if page.etag in held or (page.gzip_body is not None and page.gzip_etag in held):
        return empty(status=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    body = page.gzip_body if gzipped else page.body
    return await reply_bytes(request, body, "application/json", headers)


@route(
    GOOD,
    "GET",
    auth=ADMIN,
    response=GoodDetailSchema,
    errors=(401, 403, 404),
    direct_reads=True,
    summary="Read a good with its variations",
)
async def read_good(request: Request, good_id: int):
    bodies = request.app.ctx.catalog_cache.good_details
    render = renderer(GoodDetailSchema)
    async with transaction(request) as session:
        body = await goods.good_details_body(session, bodies, good_id, render)
    return reply_body(body)


@route(
    GOOD,
    "PATCH",
    auth=ADMIN,
    body=GoodUpdateSchema,
    response=GoodSchema,
    errors=(400, 401, 403, 404, 409),
    summary="Edit a good",
)
async def update_good(request: Request, good_id: int):
    data = load_body(request, GoodUpdateSchema)
    async with transaction(request) as session:
        good = await goods.update_good(session, good_id, data)
    return dump(GoodSchema, good)


@route(GOOD, "DELETE", auth=ADMIN, status=204, errors=(401, 403, 404), summary="Soft-delete a good")
async def delete_good(request: Request, good_id: int):
    async with transaction(request) as session:
        await goods.delete_good(session, good_id)
    return no_content()


@route(
    f"{GOOD}/variations",
    "GET",
    auth=PUBLIC,
    response=VariationFullSchema,
    many=True,
    errors=(404,),
    summary="Variations of a visible good",
)
async def good_variations(request: Request, good_id: int):
    async with transaction(request) as session:
        variations = await goods.public_variations(session, good_id)
    return dump(VariationFullSchema, variations, many=True)
