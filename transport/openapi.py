"""OpenAPI 3.1 document built from the route registry and the marshmallow schemas."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from transport.routing import RouteSpec

_PARAM = re.compile(r"<(\w+)(?::(\w+))?>")
_PARAM_TYPES = {
    "int": {"type": "integer"},
    "uuid": {"type": "string", "format": "uuid"},
    "path": {"type": "string"},
    None: {"type": "string"},
}
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No content",
    304: "Not modified",
    400: "Validation error or business rule refusal",
    401: "Missing or invalid credentials",
    403: "Wrong role, or not your resource",
    404: "Not found",
    409: "Conflict",
    413: "Body or file too large",
    422: "Validation error",
    429: "Too many requests",
    502: "Payment gateway or legacy database unavailable",
    503: "Dependency or configuration missing",
}
_AUTH_TEXT = {
    "admin": "staff JWT, or API client JWT with admin=true",
    "self": "the customer named in the path (customer JWT)",
    "owner": "a customer, for what is their own (customer JWT; others' answer 404)",
    "api": "any active API client JWT",
    "opt-customer": "optional customer JWT",
    "tg": "the Telegram bot secret",
    "checksum": "gateway HMAC-SHA256 checksum parameter",
    "basic-1c": "1C: HTTP Basic ONEC_LOGIN / ONEC_PASSWORD at checkauth, then its session cookie",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["message", "error_code"],
    "properties": {
        "message": {"type": "string"},
        "error_code": {"type": "integer"},
        "fields": {"type": "object", "additionalProperties": {"type": "array"}},
        "request_id": {"type": "string"},
    },
}


def build_openapi(routes: list[RouteSpec], title: str) -> dict[str, Any]:
    spec = APISpec(
        title=title, version="1.0.0", openapi_version="3.1.0", plugins=[MarshmallowPlugin()]
    )
    spec.components.schema("Error", ERROR_SCHEMA)
    spec.components.security_scheme(
        "jwt", {"type": "apiKey", "in": "header", "name": "Authorization"}
    )
    spec.components.security_scheme("basic", {"type": "http", "scheme": "basic"})
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path = _PARAM.sub(lambda match: "{" + match.group(1) + "}", route.path)
        for method in route.methods:
            paths.setdefault(path, {})[method.lower()] = _operation(route)
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(route: RouteSpec) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary or route.name.replace("_", " "),
        "tags": [route.module],
        "parameters": _path_parameters(route),
        "responses": _responses(route),
    }
    if route.auth:
        operation["description"] = "Auth: " + "; ".join(_AUTH_TEXT[a] for a in route.auth)
    if "basic-1c" in route.auth:
        operation["security"] = [{"basic": []}]
    elif route.auth and not {"tg", "checksum", "opt-customer"} & set(route.auth):
        operation["security"] = [{"jwt": []}]
    if route.query is not None:
        operation["parameters"].append({"in": "query", "schema": route.query})
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {route.content: {"schema": route.body}},
        }
    elif route.content == "application/octet-stream":
        operation["requestBody"] = {
            "required": False,
            "content": {route.content: {"schema": {"type": "string", "format": "binary"}}},
        }
    elif route.content == "multipart/form-data":
        file_field = route.extra.get("file_field", "file")
        operation["requestBody"] = {
            "required": True,
            "content": {
                route.content: {
                    "schema": {
                        "type": "object",
                        "required": [file_field],
                        "properties": {file_field: {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    return operation


def _path_parameters(route: RouteSpec) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": dict(_PARAM_TYPES[kind or None])}
        for name, kind in _PARAM.findall(route.path)
    ]


def _responses(route: RouteSpec) -> dict[str, Any]:
    success: dict[str, Any] = {"description": _STATUS_TEXT.get(route.status, "OK")}
    if route.response is not None and route.status != 204:
        schema: Any = route.response
        if route.many:
            schema = {"type": "array", "items": route.response}
        if route.paged is not None:
            schema = {"oneOf": [schema, route.paged]}
        success["content"] = {"application/json": {"schema": schema}}
    elif route.plain_text:
        success["content"] = {
            kind: {"schema": {"type": "string"}}
            for kind in (route.answers, *route.extra.get("other_answers", ()))
        }
    responses: dict[str, Any] = {str(route.status): success}
    error_content: dict[str, Any] = {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
    }
    if route.plain_text:
        error_content = {route.answers: {"schema": {"type": "string", "pattern": "^failure\n"}}}
    for status in sorted(set(route.errors) | {500}):
        responses[str(status)] = {
            "description": _STATUS_TEXT.get(status, "Unexpected server error"),
            "content": error_content,
        }
    return responses
