"""Images: upload converted to WebP, serving, deletion, and paths that try to escape."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from PIL import Image
from sqlalchemy import text

from tests import factories


def picture(fmt: str = "PNG", size=(40, 30)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(output, format=fmt)
    return output.getvalue()


async def _variation(client, headers):
    refs = await factories.directories(client, headers)
    good = await factories.good(client, headers, refs)
    return await factories.variation(client, headers, good["id"], refs["red"], refs["s"])


async def test_an_uploaded_image_is_stored_as_webp_served_immutable_and_deleted(
    client, admin_headers, settings
):
    variation = await _variation(client, admin_headers)
    response = await client.post(
        f"/images?variation_id={variation['id']}&x=1",
        files={"image": ("../../photo.jpg", picture("JPEG"))},
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["variation_id"] == variation["id"]
    prefix = f"{settings.PUBLIC_BASE_URL}/images/"
    url = body["image_url"].removeprefix(prefix)
    assert len(url) == len("ab/") + 32 + len(".webp") and url.endswith(".webp")
    stored = Path(settings.MEDIA_ROOT) / url
    assert stored.is_file()
    with Image.open(stored) as image:
        assert image.format == "WEBP" and image.size == (40, 30)
    served = await client.get(f"/images/{url}")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    assert served.headers.get_list("cache-control") == ["public, max-age=31536000, immutable"]
    full = (await client.get(f"/variations/{variation['id']}")).json()
    assert [image["url"] for image in full["images"]] == [url]
    assert (await client.delete(f"/images/{url}", headers=admin_headers)).status_code == 204
    assert not stored.exists()
    assert (await client.get(f"/images/{url}")).status_code == 404
    assert (await client.delete(f"/images/{url}", headers=admin_headers)).status_code == 404


async def test_non_images_missing_variations_strangers_and_oversized_uploads_are_refused(
    client, admin_headers, make_server
):
    variation = await _variation(client, admin_headers)
    path = f"/images?variation_id={variation['id']}"
    not_image = await client.post(
        path, files={"image": ("a.png", b"<?php echo 1; ?>")}, headers=admin_headers
    )
    assert not_image.status_code == 400
    assert not_image.json()["fields"] == {"image": ["Not a valid image."]}
    bmp = await client.post(path, files={"image": ("a.bmp", picture("BMP"))}, headers=admin_headers)
    assert bmp.status_code == 400
    missing = await client.post(path, files={"other": ("a.png", picture())}, headers=admin_headers)
    assert missing.status_code == 400
    no_variation = await client.post(
        "/images", files={"image": ("a.png", picture())}, headers=admin_headers
    )
    assert no_variation.status_code == 400 and "variation_id" in no_variation.json()["fields"]
    unknown = await client.post(
        "/images?variation_id=999", files={"image": ("a.png", picture())}, headers=admin_headers
    )
    assert unknown.status_code == 404 and unknown.json()["message"] == "Variation not found"
    anonymous = await client.post(path, files={"image": ("a.png", picture())})
    assert anonymous.status_code == 401
    small = await make_server(IMAGE_MAX_BYTES=1000)
    too_large = await small.client.post(
        path, files={"image": ("a.png", os.urandom(5000))}, headers=admin_headers
    )
    assert too_large.status_code == 413
    assert too_large.json()["message"] == "Image is too large"


async def test_paths_cannot_leave_the_media_folder(client, admin_headers, settings, tmp_path):
    media = Path(settings.MEDIA_ROOT)
    (media / "12").mkdir(parents=True, exist_ok=True)
    (media / "12" / "photo.webp").write_bytes(b"old image")
    (media / "12" / "фото.webp").write_bytes(b"cyrillic")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    link = media / "link.webp"
    if not link.exists():
        link.symlink_to(secret)
    assert (await client.get("/images/12/photo.webp")).content == b"old image"
    assert (await client.get("/images/12/%D1%84%D0%BE%D1%82%D0%BE.webp")).content == b"cyrillic"
    for path in (
        "../config.py",
        "..%2Fconfig.py",
        "12/..%2F..%2Fsecret.txt",
        "%2Fetc%2Fpasswd",
        "12%5C..%5Cphoto.webp",
        "12/%00.webp",
        "link.webp",
        "12/%2E/photo.webp",
        "%2E%2E/config.py",
    ):
        response = await client.get(f"/images/{path}")
        assert response.status_code == 404, path
        assert "secret" not in response.text
        deleted = await client.delete(f"/images/{path}", headers=admin_headers)
        assert deleted.status_code == 404, path
    assert secret.exists()


async def test_a_camera_jpeg_with_several_pictures_is_accepted(client, admin_headers):
    variation = await _variation(client, admin_headers)
    output = io.BytesIO()
    first, second = (Image.new("RGB", (40, 30), color) for color in ("red", "green"))
    first.save(output, format="MPO", save_all=True, append_images=[second])
    assert output.getvalue()[:3] == b"\xff\xd8\xff"
    response = await client.post(
        f"/images?variation_id={variation['id']}",
        files={"image": ("photo.jpg", output.getvalue(), "image/jpeg")},
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text


def _media_files(settings) -> set[str]:
    media = Path(settings.MEDIA_ROOT)
    return {path.relative_to(media).as_posix() for path in media.rglob("*") if path.is_file()}


async def test_an_upload_whose_row_is_refused_leaves_no_file(client, admin_headers, settings, db):
    variation = await _variation(client, admin_headers)
    before = _media_files(settings)
    async with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            await connection.execute(
                text("ALTER TABLE images ADD CONSTRAINT refuse_all CHECK (url = '') NOT VALID")
            )
        else:
            await connection.execute(
                text(
                    "CREATE TRIGGER refuse_all BEFORE INSERT ON images "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
    try:
        response = await client.post(
            f"/images?variation_id={variation['id']}",
            files={"image": ("a.png", picture())},
            headers=admin_headers,
        )
    finally:
        async with db.engine.begin() as connection:
            if db.dialect == "postgresql":
                await connection.execute(text("ALTER TABLE images DROP CONSTRAINT refuse_all"))
            else:
                await connection.execute(text("DROP TRIGGER refuse_all"))
    assert response.status_code == 409, response.text
    assert _media_files(settings) == before
    full = (await client.get(f"/variations/{variation['id']}")).json()
    assert full["images"] == []


async def test_start_up_finishes_uploads_a_crash_interrupted(
    client, admin_headers, settings, make_server
):
    variation = await _variation(client, admin_headers)
    uploaded = await client.post(
        f"/images?variation_id={variation['id']}",
        files={"image": ("a.png", picture())},
        headers=admin_headers,
    )
    committed = uploaded.json()["image_url"].rsplit("/images/", 1)[1]
    media = Path(settings.MEDIA_ROOT)
    long_ago = time.time() - 3600
    crashed_after_commit = media / f"{committed}.tmp"
    os.replace(media / committed, crashed_after_commit)
    crashed_before_commit = media / "ff" / ("f" * 32 + ".webp.tmp")
    crashed_before_commit.parent.mkdir(exist_ok=True)
    crashed_before_commit.write_bytes(b"half written")
    still_uploading = media / "ee" / ("e" * 32 + ".webp.tmp")
    still_uploading.parent.mkdir(exist_ok=True)
    still_uploading.write_bytes(b"being written")
    for path in (crashed_after_commit, crashed_before_commit):
        os.utime(path, (long_ago, long_ago))
    restarted = await make_server()
    assert (media / committed).is_file() and not crashed_after_commit.exists()
    assert not crashed_before_commit.exists()
    assert still_uploading.exists()
    assert (await restarted.client.get(f"/images/{committed}")).status_code == 200
    still_uploading.unlink()
