"""Favorites routes: a customer's wishlist and the admin-wide list."""

from __future__ import annotations

from sanic import Request

from api.base import DeletedCountSchema
from api.favorites import (
    AllFavoritesQuerySchema,
    FavoriteAddSchema,
    FavoritePageSchema,
    FavoriteQuerySchema,
    FavoriteSchema,
)
from services import favorites
from transport.http import dump, json_body, load_body, load_query, transaction
from transport.routing import ADMIN_API, ADMIN_SELF, route

FAVORITES = "/customers/<customer_id:int>/favorites"


@route(
    FAVORITES,
    "POST",
    auth=ADMIN_SELF,
    body=FavoriteAddSchema,
    response=FavoriteSchema,
    status=201,
    errors=(400, 401, 403, 404, 409),
    summary="Add a good to favorites",
)
async def add_favorite(request: Request, customer_id: int):
    data = load_body(request, FavoriteAddSchema)
    async with transaction(request) as session:
        favorite, created = await favorites.add_favorite(session, customer_id, data["good_id"])
    return dump(FavoriteSchema, favorite, status=201 if created else 200)


@route(
    FAVORITES,
    "GET",
    auth=ADMIN_SELF,
    query=FavoriteQuerySchema,
    response=FavoritePageSchema,
    errors=(400, 401, 403, 404),
    summary="Favorites",
)
async def list_favorites(request: Request, customer_id: int):
    filters = load_query(request, FavoriteQuerySchema)
    async with transaction(request) as session:
        items, count = await favorites.list_favorites(session, filters, customer_id)
    return dump(FavoritePageSchema, {"items": items, "count": count})


@route(
    FAVORITES,
    "DELETE",
    auth=ADMIN_SELF,
    response=DeletedCountSchema,
    errors=(400, 401, 403, 404, 409),
    summary="Remove favorites by ids (body `id` list or repeated `?id=`)",
)
async def remove_favorites(request: Request, customer_id: int):
    body = json_body(request)
    in_body = isinstance(body, dict) and "id" in body
    raw = body["id"] if in_body else request.args.getlist("id")
    ids = favorites.parse_ids(raw)
    async with transaction(request) as session:
        deleted = await favorites.remove_favorites(session, customer_id, ids)
    return dump(DeletedCountSchema, {"count_deleted": deleted})


@route(
    "/favorites/all",
    "GET",
    auth=ADMIN_API,
    query=AllFavoritesQuerySchema,
    response=FavoritePageSchema,
    errors=(400, 401, 403),
    summary="Favorites of everyone",
)
async def all_favorites(request: Request):
    filters = load_query(request, AllFavoritesQuerySchema)
    async with transaction(request) as session:
        items, count = await favorites.list_favorites(session, filters)
    return dump(FavoritePageSchema, {"items": items, "count": count})
