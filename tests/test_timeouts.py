"""Per-route time limits over a real socket: a trickling client is cut off on normal routes."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

TRICKLE_EVERY_S = 0.2
MAX_TRICKLED_BYTES = 60


async def _open(running):
    address = urlsplit(running.base_url)
    return await asyncio.open_connection(address.hostname, address.port)


def _head(path: str, length: int, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: shop", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _trickle_until_answered(reader, writer, count: int) -> bytes:
    """Send up to `count` body bytes one at a time; the answer, or b"" when none came."""
    for _ in range(count):
        try:
            return await asyncio.wait_for(reader.read(65536), TRICKLE_EVERY_S)
        except TimeoutError:
            writer.write(b" ")
            await writer.drain()
    return b""


async def _rest_of_answer(reader, first: bytes) -> bytes:
    data = first
    while b"\r\n\r\n" not in data:
        chunk = await asyncio.wait_for(reader.read(65536), 10)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
async def quick(make_server):
    return await make_server(REQUEST_TIMEOUT_S=1.0, RESPONSE_TIMEOUT_S=1.0, UPLOAD_TIMEOUT_S=60.0)


async def test_a_trickling_body_on_a_normal_route_gets_408_and_is_closed(quick):
    reader, writer = await _open(quick)
    try:
        writer.write(_head("/customers", 1000, {"Content-Type": "application/json"}))
        await writer.drain()
        answer = await _trickle_until_answered(reader, writer, MAX_TRICKLED_BYTES)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        try:
            rest = await asyncio.wait_for(reader.read(), 10)
        except ConnectionResetError:
            # Closing with our unread trickled bytes still queued makes the kernel send a reset.
            return
        assert b"HTTP/1.1" not in rest
        assert reader.at_eof()
    finally:
        writer.close()


async def test_an_upload_route_takes_the_long_limit_and_the_next_request_the_normal(
    quick, admin_headers
):
    boundary = "limit"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
        f"Content-Type: image/png\r\n\r\nnot a picture\r\n--{boundary}--\r\n"
    ).encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Authorization": admin_headers["Authorization"],
    }
    reader, writer = await _open(quick)
    try:
        writer.write(_head("/images?variation_id=999999", len(body), headers))
        await writer.drain()
        slow_part, rest = body[:12], body[12:]
        for byte in slow_part:
            writer.write(bytes([byte]))
            await writer.drain()
            assert await _no_answer_within(reader, TRICKLE_EVERY_S)
        writer.write(rest)
        answer = await _rest_of_answer(reader, b"")
        assert answer.startswith(b"HTTP/1.1 404"), answer[:200]

        writer.write(_head("/customers", 1000, {"Content-Type": "application/json"}))
        await writer.drain()
        answer = await _trickle_until_answered(reader, writer, MAX_TRICKLED_BYTES)
        assert b"HTTP/1.1 408" in answer, answer[:200]
    finally:
        writer.close()


async def _no_answer_within(reader, seconds: float) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(65536), seconds)
    except TimeoutError:
        return True
    raise AssertionError(f"answered early: {data[:200]!r}")


async def test_a_body_over_the_route_limit_is_refused_while_it_streams(quick):
    reader, writer = await _open(quick)
    try:
        writer.write(_head("/customers", 50 * 1024 * 1024, {"Content-Type": "application/json"}))
        writer.write(b"{" + b" " * 2 * 1024 * 1024)
        await writer.drain()
        answer = await _rest_of_answer(reader, b"")
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    finally:
        writer.close()
