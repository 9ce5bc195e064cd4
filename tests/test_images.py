"""Images: upload converted to WebP, serving, deletion, and paths that try to escape."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

from tests import factories


def picture(fmt: str = "PNG", size=(40, 30)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(output, format=fmt)
    return output.getvalue()


async def _variation(client, headers):
    refs = await factories.directories(client, headers)
    good = await factories.good(client, headers, refs)
    return await factories.variation(client, headers, good["id"], refs["red"], refs["s"])


async def test_upload_serve_and_delete(client, admin_headers, settings):
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


async def test_bad_uploads(client, admin_headers, make_server):
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
