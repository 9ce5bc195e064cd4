"""Variation routes: create, public reads, edit and soft delete."""

from __future__ import annotations

from sanic import Request

from api.variations import (
    VariationCreateSchema,
    VariationFullSchema,
    VariationSchema,
    VariationUpdateSchema,
)
from services import variations
from transport.http import actor, dump, load_body, no_content, transaction
from transport.routing import ADMIN, PUBLIC, route

VARIATION = "/variations/<variation_id:int>"


@route(
    "/variations",
    "POST",
    auth=ADMIN,
    body=VariationCreateSchema,
    response=VariationSchema,
    status=201,
    errors=(400, 401, 403, 409),
    summary="Create a variation",
)
async def create_variation(request: Request):
    data = load_body(request, VariationCreateSchema)
    async with transaction(request) as session:
        variation = await variations.create_variation(session, data, actor(request))
    return dump(VariationSchema, variation, status=201)


@route(
    "/variations/all",
    "GET",
    auth=PUBLIC,
    response=VariationFullSchema,
    many=True,
    summary="All variations on sale",
)
async def list_variations(request: Request):
    async with transaction(request) as session:
        items = await variations.all_public_variations(session)
    return dump(VariationFullSchema, items, many=True)


@route(
    VARIATION,
    "GET",
    auth=PUBLIC,
    response=VariationFullSchema,
    errors=(404,),
    direct_reads=True,
    summary="Read a variation",
)
async def read_variation(request: Request, variation_id: int):
    async with transaction(request) as session:
        item = await variations.public_variation(session, variation_id)
    return dump(VariationFullSchema, item)


@route(
    VARIATION,
    "PATCH",
    auth=ADMIN,
    body=VariationUpdateSchema,
    response=VariationSchema,
    errors=(400, 401, 403, 404, 409),
    summary="Edit a variation",
)
async def update_variation(request: Request, variation_id: int):
    data = load_body(request, VariationUpdateSchema)
    async with transaction(request) as session:
        variation = await variations.update_variation(session, variation_id, data, actor(request))
    return dump(VariationSchema, variation)


@route(
    VARIATION,
    "DELETE",
    auth=ADMIN,
    status=204,
    errors=(401, 403, 404),
    summary="Soft-delete a variation",
)
async def delete_variation(request: Request, variation_id: int):
    async with transaction(request) as session:
        await variations.delete_variation(session, variation_id)
    return no_content()
