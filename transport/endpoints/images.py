"""Image routes: upload for a variation, serve from the media folder, delete."""

from __future__ import annotations

import asyncio
import mimetypes
from urllib.parse import unquote

from sanic import Request
from sanic.response import file

from api.images import ImageQuerySchema, ImageUploadedSchema
from helpers.images import safe_media_path
from services import images
from services.errors import NotFound
from transport.http import dump, load_query, no_content, transaction
from transport.routing import ADMIN, PUBLIC, route

IMMUTABLE = "public, max-age=31536000, immutable"


@route(
    "/images",
    "POST",
    auth=ADMIN,
    long_running=True,
    query=ImageQuerySchema,
    response=ImageUploadedSchema,
    status=201,
    body_limit="image_body_limit",
    content="multipart/form-data",
    extra={"file_field": "image"},
    errors=(400, 401, 403, 404, 413),
    summary="Upload an image of a variation",
)
async def upload_image(request: Request):
    settings = request.app.ctx.settings
    query = load_query(request, ImageQuerySchema)
    upload = request.files.get("image") if request.files else None
    async with transaction(request) as session:
        image = await images.upload_image(
            session, settings, query["variation_id"], upload.body if upload else None
        )
    url = f"{settings.PUBLIC_BASE_URL.rstrip('/')}/images/{image.url}"
    return dump(
        ImageUploadedSchema, {"image_url": url, "variation_id": image.variation_id}, status=201
    )


@route("/images/<img_path:path>", "GET", auth=PUBLIC, errors=(404,), summary="An image file")
async def serve_image(request: Request, img_path: str):
    path = safe_media_path(request.app.ctx.settings.MEDIA_ROOT, unquote(img_path))
    if path is None or not await asyncio.to_thread(path.is_file):
        raise NotFound("Image not found")
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    # Lower case: Sanic's file() adds its own "no-cache" unless this exact key is present.
    return await file(path, mime_type=mime, headers={"cache-control": IMMUTABLE})


@route(
    "/images/<img_path:path>",
    "DELETE",
    auth=ADMIN,
    status=204,
    errors=(401, 403, 404),
    summary="Delete an image and its file",
)
async def delete_image(request: Request, img_path: str):
    async with transaction(request) as session:
        await images.delete_image(session, request.app.ctx.settings.MEDIA_ROOT, unquote(img_path))
    return no_content()
