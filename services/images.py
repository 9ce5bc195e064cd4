"""Images of variations: upload (converted to WebP), lookup for serving, delete."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Image, Variation
from helpers.images import NotAnImage, convert_to_webp, new_image_path, write_file
from services.catalog import bump_catalog_version
from services.errors import NotFound, TooLarge, ValidationFailed


async def upload_image(
    session: AsyncSession, settings, variation_id: int, content: bytes | None
) -> Image:
    variation = await session.get(Variation, variation_id)
    if variation is None or variation.is_delete:
        raise NotFound("Variation not found")
    if content is None:
        raise ValidationFailed({"image": ["Missing data for required field."]})
    if len(content) > settings.IMAGE_MAX_BYTES:
        raise TooLarge("Image is too large")
    try:
        webp = await asyncio.to_thread(convert_to_webp, content, settings.IMAGE_WEBP_QUALITY)
    except NotAnImage:
        raise ValidationFailed({"image": ["Not a valid image."]}) from None
    relative = new_image_path()
    await asyncio.to_thread(write_file, settings.MEDIA_ROOT, relative, webp)
    image = Image(variation_id=variation_id, url=relative)
    session.add(image)
    await session.flush()
    await bump_catalog_version(session)
    return image


async def delete_image(session: AsyncSession, url: str) -> None:
    image = await session.scalar(select(Image).where(Image.url == url))
    if image is None:
        raise NotFound("Image not found")
    await session.delete(image)
    await bump_catalog_version(session)
