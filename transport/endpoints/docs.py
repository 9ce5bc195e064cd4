"""API documentation: `/openapi.json`, Swagger UI at `/docs`, and the old `/swagger/` links."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from sanic import Request
from sanic.response import html, raw
from swagger_ui_bundle import swagger_ui_path

from services.errors import NotFound
from transport.http import reply
from transport.openapi import build_openapi
from transport.routing import PUBLIC, ROUTES, route

ASSETS = Path(swagger_ui_path)
ASSET_NAMES = {"swagger-ui.css", "swagger-ui-bundle.js", "index.css", "favicon-32x32.png"}
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: "{spec_url}", dom_id: "#swagger-ui"}});</script>
</body></html>"""


def _document(request: Request) -> dict:
    app = request.app
    if not hasattr(app.ctx, "openapi"):
        routes = [spec for spec in ROUTES if spec.module != "docs"]
        app.ctx.openapi = build_openapi(routes, app.ctx.settings.SERVICE_NAME)
    return app.ctx.openapi


@route("/openapi.json", "GET", auth=PUBLIC, summary="OpenAPI document")
async def openapi_document(request: Request):
    return reply(_document(request))


@route("/swagger/swagger.json", "GET", auth=PUBLIC, summary="OpenAPI document (old link)")
async def swagger_document(request: Request):
    return reply(_document(request))


@route("/docs", "GET", auth=PUBLIC, summary="Interactive API documentation")
async def docs_page(request: Request):
    return html(PAGE.format(title="Vinterr API", spec_url="/openapi.json"))


@route("/swagger", "GET", auth=PUBLIC, summary="Interactive API documentation (old link)")
async def swagger_page(request: Request):
    return html(PAGE.format(title="Vinterr API", spec_url="/openapi.json"))


@route("/docs/assets/<name>", "GET", auth=PUBLIC, summary="Swagger UI assets")
async def docs_asset(request: Request, name: str):
    if name not in ASSET_NAMES:
        raise NotFound("Not found")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    body = (ASSETS / name).read_bytes()
    return raw(body, content_type=content_type, headers={"Cache-Control": "public, max-age=86400"})
