"""Every JSON body the suite receives is checked against its route's schema in /openapi.json.

The test servers' clients record each response; at the end of the run each body is validated
(jsonschema, draft 2020-12 as OpenAPI 3.1 uses it) against the schema the route declares for
its status, objects closed to properties the schema does not name, and the routes declaring a
response schema that no test reached are listed.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field

import httpx
from jsonschema import Draft202012Validator

_PARAM = re.compile(r"\{[^}]+\}")
# Only JSON answers have a schema to check: the 1C exchange answers plain text and XML.
JSON = "application/json"


@dataclass
class ResponseLog:
    responses: list[tuple[str, str, int, bytes]] = field(default_factory=list)

    async def record(self, response: httpx.Response) -> None:
        if not response.headers.get("content-type", "").startswith(JSON):
            return
        await response.aread()
        request = response.request
        self.responses.append(
            (request.method, request.url.path, response.status_code, response.content)
        )

    def problems(self, document: dict) -> tuple[list[str], list[str]]:
        """(bodies that do not match their schema, operations with a schema never answered)."""
        operations = _operations(document)
        components = _closed(document["components"])
        mismatches: list[str] = []
        answered: set[tuple[str, str]] = set()
        validators: dict[int, Draft202012Validator] = {}
        for method, path, status, content in self.responses:
            found = _match(operations, method, path)
            if found is None:
                continue
            template, operation = found
            schema = _schema_for(operation, status)
            if schema is None:
                continue
            if 200 <= status < 300:
                answered.add((method, template))
            validator = validators.get(id(schema))
            if validator is None:
                validator = validators[id(schema)] = Draft202012Validator(
                    {**schema, "components": components}
                )
            errors = list(validator.iter_errors(json.loads(content)))
            if errors:
                where = "/".join(str(part) for part in errors[0].absolute_path)
                mismatches.append(
                    f"{method} {path} {status}: {errors[0].message[:300]} (at /{where})"
                )
        declared = {
            (method, template)
            for template, methods in document["paths"].items()
            for method, operation in methods.items()
            if any(
                status.startswith("2") and JSON in answer.get("content", {})
                for status, answer in operation["responses"].items()
            )
            for method in [method.upper()]
        }
        return mismatches, sorted(f"{m} {t}" for m, t in declared - answered)


def _operations(document: dict) -> list[tuple[re.Pattern, str, dict]]:
    """Path templates as patterns, fixed segments before parameters."""
    found = []
    for template, methods in document["paths"].items():
        pattern = re.compile(
            "^"
            + _PARAM.sub("[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
            + "$"
        )
        found.append((template.count("{"), pattern, template, methods))
    found.sort(key=lambda item: item[0])
    return [(pattern, template, methods) for _, pattern, template, methods in found]


def _match(operations, method: str, path: str):
    for pattern, template, methods in operations:
        if pattern.match(path) and method.lower() in methods:
            return template, methods[method.lower()]
    return None


def _schema_for(operation: dict, status: int) -> dict | None:
    responses = operation["responses"]
    answer = responses.get(str(status))
    if answer is None and 200 <= status < 300:
        # Another success status of the same route (200 for a repeat, 202 while pending).
        answer = next((a for s, a in responses.items() if s.startswith("2")), None)
    if answer is None or JSON not in answer.get("content", {}):
        return None
    return answer["content"][JSON]["schema"]


def _closed(components: dict) -> dict:
    """The component schemas with no properties beyond those they name (the error body is
    open: an error may carry details such as `retry_after` or `variations`)."""
    closed = copy.deepcopy(components)
    for name, schema in closed.get("schemas", {}).items():
        if name != "Error" and "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    return closed
