"""Property-based fuzzing of every route: no body, query or header may reach a 5xx."""

from __future__ import annotations

import json
import os
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transport.app import _import_endpoint_modules
from transport.routing import ROUTES

_import_endpoint_modules()

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
SKIPPED_MODULES = {"docs"}
_PARAM = re.compile(r"<(\w+)(?::(\w+))?>")

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", " ", "0", "-1", "1e309", "null", "../../etc/passwd", "\x00", "ё" * 300])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _field_names(schema) -> list[str]:
    return sorted(schema().fields) if schema is not None else []


def _path_value(kind: str | None):
    if kind == "int":
        return st.integers(min_value=0, max_value=2**63).map(str)
    if kind == "uuid":
        return st.uuids().map(str)
    printable = st.characters(min_codepoint=33, max_codepoint=0x44F, exclude_characters="/?#")
    return st.text(alphabet=printable, min_size=1, max_size=20).map(quote)


def _request(spec):
    params = {name: _path_value(kind) for name, kind in _PARAM.findall(spec.path)}
    body_keys = _field_names(spec.body)
    query_keys = _field_names(spec.query) or ["limit", "offset", "page", "count"]
    body = st.one_of(
        json_values,
        st.fixed_dictionaries({}, optional={key: json_values for key in body_keys}),
    )
    raw = st.sampled_from([b"", b"{", b"[]", b"\xff\xfe", b'{"a": 1'])
    query = st.dictionaries(st.sampled_from(query_keys), scalars.map(str), max_size=3)
    return st.tuples(
        st.fixed_dictionaries(params),
        st.one_of(body.map(json.dumps).map(str.encode), raw),
        query,
        st.booleans(),
    )


def _url(spec, params: dict[str, str]) -> str:
    return _PARAM.sub(lambda match: params[match.group(1)], spec.path)


FUZZED = [
    (spec, method)
    for spec in ROUTES
    if spec.module not in SKIPPED_MODULES
    for method in spec.methods
]


@pytest.mark.parametrize(("spec", "method"), FUZZED, ids=[f"{m} {s.path}" for s, m in FUZZED])
@settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
@given(data=st.data())
async def test_no_input_reaches_a_server_error(client, admin_headers, spec, method, data):
    params, body, query, as_admin = data.draw(_request(spec))
    headers = dict(admin_headers) if as_admin else {"Authorization": "garbage"}
    headers["Content-Type"] = "application/json"
    response = await client.request(
        method, _url(spec, params), content=body, params=query, headers=headers
    )
    documented = response.status_code in spec.errors and response.status_code in (502, 503)
    assert response.status_code < 500 or documented, (
        method,
        spec.path,
        params,
        body,
        query,
        response.text,
    )
