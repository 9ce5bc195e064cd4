"""API documentation: the OpenAPI document covers every route; Swagger UI is served."""

from __future__ import annotations

import re

from transport.routing import ROUTES

_PARAM = re.compile(r"<(\w+)(?::\w+)?>")


async def test_openapi_lists_every_route(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    for spec in ROUTES:
        if spec.module == "docs":
            continue
        path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", spec.path)
        assert path in document["paths"], path
        for method in spec.methods:
            operation = document["paths"][path][method.lower()]
            assert str(spec.status) in operation["responses"]
    login = document["paths"]["/users/auth"]["post"]
    assert "requestBody" in login
    assert (await client.get("/swagger/swagger.json")).json() == document


async def test_swagger_ui_is_served_locally(client):
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "swagger-ui-bundle.js" in page.text
    asset = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert (await client.get("/docs/assets/..%2Fconfig.py")).status_code == 404
    assert (await client.get("/swagger/")).status_code == 200


async def test_docs_can_be_switched_off(make_server):
    running = await make_server(ENABLE_API_DOCS=False)
    assert (await running.client.get("/openapi.json")).status_code == 404
    assert (await running.client.get("/docs")).status_code == 404
