"""Image uploads: decode, orient, convert to WebP; safe paths inside the media folder."""

from __future__ import annotations

import io
import os
import secrets
import time
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

# MPO is how Pillow names a camera JPEG that carries more than one picture.
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF"}
MAX_PIXELS = 40_000_000
PENDING_SUFFIX = ".tmp"


class NotAnImage(Exception):
    """The upload does not decode as a JPEG, PNG, WebP or GIF picture of a sane size."""


def convert_to_webp(data: bytes, quality: int) -> bytes:
    """CPU-bound: call it in a worker thread."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise NotAnImage(probe.format)
            if probe.width * probe.height > MAX_PIXELS:
                raise NotAnImage("too many pixels")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            output = io.BytesIO()
            image.save(output, format="WEBP", quality=quality)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise NotAnImage(str(exc)) from None
    return output.getvalue()


def new_image_path() -> str:
    name = secrets.token_hex(16)
    return f"{name[:2]}/{name}.webp"


def pending_path(root: str, relative: str) -> Path:
    """Where a file waits, under a temporary name, until its database row is committed."""
    target = Path(root) / relative
    return target.with_name(target.name + PENDING_SUFFIX)


def write_pending(root: str, relative: str, content: bytes) -> Path:
    pending = pending_path(root, relative)
    pending.parent.mkdir(parents=True, exist_ok=True)
    try:
        with pending.open("wb") as output:
            output.write(content)
            output.flush()
            os.fsync(output.fileno())
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    return pending


def publish_pending(root: str, relative: str) -> None:
    os.replace(pending_path(root, relative), Path(root) / relative)


def stale_pending_files(root: str, older_than_s: float) -> dict[str, Path]:
    """Temporary files a crash left behind, by the media path they were to be published as."""
    base = Path(root)
    if not base.is_dir():
        return {}
    cutoff = time.time() - older_than_s
    stale = {}
    for pending in base.glob(f"*/*{PENDING_SUFFIX}"):
        try:
            if pending.stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        stale[pending.relative_to(base).as_posix().removesuffix(PENDING_SUFFIX)] = pending
    return stale


def safe_media_path(root: str, relative: str) -> Path | None:
    """The file for a URL path, or None when the path could leave the media folder."""
    if not relative or "\\" in relative or "\x00" in relative or relative.startswith("/"):
        return None
    if any(part in {"", ".", ".."} for part in relative.split("/")):
        return None
    base = Path(root).resolve()
    candidate = (base / relative).resolve()
    if base != candidate and base not in candidate.parents:
        return None
    return candidate


def remove_file(path: Path) -> None:
    path.unlink(missing_ok=True)
