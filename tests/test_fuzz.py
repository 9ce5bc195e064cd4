"""Schema fuzzing of every route in /openapi.json (schemathesis): no 5xx, every error in the
contract's body. Examples per route are bounded and derived from a fixed seed."""

from __future__ import annotations

import asyncio
import os
from collections import Counter

import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.factories import register, setup_shop
from tests.support import auth, customer_token

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
SKIPPED_PATHS = ("/docs", "/swagger")
# Bodies that are not JSON: files, the 1C exchange and the metrics text.
NOT_JSON_TYPES = ("image/", "text/", "application/xml", "application/octet-stream")


def _contract_problem(response, documented: set[int]) -> str | None:
    """Why an answer breaks the contract, or None.

    502 and 503 are the contract's answers for a missing dependency or setting (the legacy
    database of the import, a gateway) where the route documents them."""
    if response.status_code >= 500 and response.status_code not in documented & {502, 503}:
        return f"{response.status_code}: {response.text[:300]}"
    if response.status_code < 400:
        return None
    headers = {name.lower(): value for name, value in response.headers.items()}
    content_type = headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if content_type.startswith(NOT_JSON_TYPES):
        return None
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} error body is not JSON: {response.text[:200]}"
    if not (
        isinstance(body, dict)
        and isinstance(body.get("message"), str)
        and body.get("error_code") == response.status_code
    ):
        return f"{response.status_code} error body not in the contract's shape: {body}"
    return None


def _fuzz_operation(operation, base_url, principals, statuses: Counter, problems: list[str]):
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    documented = {
        int(code) for code in operation.definition.raw.get("responses", {}) if code.isdigit()
    }

    @seed(20261204)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, principal=st.sampled_from(principals))
    def run(case, principal):
        response = case.call(base_url=base_url, headers=principal, timeout=30)
        statuses[response.status_code // 100 * 100] += 1
        problem = _contract_problem(response, documented)
        if problem is not None:
            problems.append(f"{operation.method.upper()} {case.formatted_path}: {problem}")

    run()


def _fuzz(base_url: str, principals: list[dict]) -> tuple[Counter, list[str]]:
    """Runs in a thread: the server answers on the test's event loop meanwhile."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    statuses: Counter = Counter()
    problems: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(SKIPPED_PATHS):
            _fuzz_operation(operation, base_url, principals, statuses, problems)
    return statuses, problems


async def test_every_route_survives_schema_fuzzing(server, client, admin_headers):
    shop = await setup_shop(client, admin_headers, stock=50)
    customer = await register(client)
    await client.post(f"/variations/{shop['first']['id']}", headers=admin_headers)
    principals = [admin_headers, auth(customer_token(customer["id"])), {}]
    statuses, problems = await asyncio.to_thread(_fuzz, server.base_url, principals)
    print(f"\nschema fuzzing: {dict(sorted(statuses.items()))}, {len(problems)} problems")
    assert statuses[200] > 0 and statuses[400] > 0
    assert problems == [], "\n".join(problems[:40])
