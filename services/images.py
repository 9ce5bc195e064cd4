"""Images of variations: upload (converted to WebP), lookup for serving, delete."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.after_commit import on_commit, on_rollback
from db.models import Image, Variation
from helpers.images import (
    NotAnImage,
    convert_to_webp,
    new_image_path,
    publish_pending,
    remove_file,
    safe_media_path,
    stale_pending_files,
    write_pending,
)
from services.catalog import bump_catalog_version
from services.errors import NotFound, TooLarge, ValidationFailed

log = logging.getLogger("shop.images")

# An upload still converting or committing is younger than this; an older temporary file is
# what a crash between writing and publishing left behind.
PENDING_MAX_AGE_S = 60
_LOOKUP_BATCH = 500


async def upload_image(
    session: AsyncSession, settings, variation_id: int, content: bytes | None
) -> Image:
    """The file is published under its URL only when the transaction commits."""
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
    root, relative = settings.MEDIA_ROOT, new_image_path()
    pending = await asyncio.to_thread(write_pending, root, relative, webp)
    on_rollback(session, lambda: remove_file(pending))
    on_commit(session, lambda: publish_pending(root, relative))
    image = Image(variation_id=variation_id, url=relative)
    session.add(image)
    await session.flush()
    await bump_catalog_version(session)
    return image


async def delete_image(session: AsyncSession, media_root: str, url: str) -> None:
    """The file goes once the row's deletion has committed."""
    path = safe_media_path(media_root, url)
    image = None if path is None else await session.scalar(select(Image).where(Image.url == url))
    if image is None:
        raise NotFound("Image not found")
    await session.delete(image)
    await bump_catalog_version(session)
    on_commit(session, lambda: remove_file(path))


async def finish_interrupted_uploads(session: AsyncSession, media_root: str) -> tuple[int, int]:
    """Publish the temporary files whose rows were committed, remove the others.

    Returns (published, removed)."""
    stale = await asyncio.to_thread(stale_pending_files, media_root, PENDING_MAX_AGE_S)
    names = list(stale)
    committed: set[str] = set()
    for start in range(0, len(names), _LOOKUP_BATCH):
        batch = names[start : start + _LOOKUP_BATCH]
        committed.update(await session.scalars(select(Image.url).where(Image.url.in_(batch))))
    published = removed = 0
    for relative, pending in stale.items():
        try:
            if relative in committed:
                await asyncio.to_thread(publish_pending, media_root, relative)
                published += 1
            else:
                await asyncio.to_thread(remove_file, pending)
                removed += 1
        except FileNotFoundError:
            continue
    if published or removed:
        log.warning("interrupted uploads: %s published, %s removed", published, removed)
    return published, removed
