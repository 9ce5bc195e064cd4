"""The quick check of event batches gives exactly what EventBatchSchema gives, or defers to it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from api.base import load
from api.events import EVENT_BATCH, load_event_batch

MISSING = object()

VALID = {
    "type": st.sampled_from(["page.view", "cart.add", "a", "x1:y-z_2", "a" * 64]),
    "customer_id": st.sampled_from([1, 5, 2**31 - 1, None]),
    "data": st.one_of(
        st.none(),
        st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
        st.just({"text": "я" * 8000}),
    ),
    "created_at": st.sampled_from(
        ["2026-01-10T10:00:00", "2026-01-10T10:00:00Z", "2026-01-10T10:00:00.123456+03:00"]
    ),
}
ANY = {
    "type": st.one_of(
        st.sampled_from([" page.view", "page.view\n", "Page", "1abc", "", "a" * 65, "a b"]),
        st.text(max_size=8),
        st.integers(),
        st.none(),
    ),
    "customer_id": st.sampled_from(
        [0, -1, 2**31, 10**20, True, False, 3.0, 3.5, "7", " 8 ", [], {}]
    ),
    "data": st.one_of(
        st.sampled_from([{"text": "я" * 8300}, {"text": "a" * 16400}, [1], "x", 0, True]),
    ),
    "created_at": st.one_of(
        st.sampled_from(
            [" 2026-01-10T10:00Z ", "2026-01-10", "2999-01-01T00:00:00Z", "10.01.2026", "", None]
        ),
        st.integers(),
    ),
    "extra": st.integers(),
}


@st.composite
def events(draw):
    """A valid event, sometimes with one field replaced by an odd or invalid value."""
    event = {}
    for key, values in VALID.items():
        if key == "type" or draw(st.booleans()):
            event[key] = draw(values)
    if draw(st.booleans()):
        key = draw(st.sampled_from(sorted(ANY)))
        value = draw(st.one_of(st.just(MISSING), ANY[key]))
        if value is MISSING:
            event.pop(key, None)
        else:
            event[key] = value
    return event


bodies = st.one_of(
    st.fixed_dictionaries({"events": st.lists(events(), min_size=1, max_size=4)}),
    st.fixed_dictionaries({"events": st.one_of(st.none(), st.text(max_size=3), events())}),
    st.lists(events(), max_size=2),
    st.none(),
)


def with_schema(body):
    return load(EVENT_BATCH, body)


def outcome(loader, body):
    try:
        return "ok", loader(body)
    except ValidationError as error:
        return "invalid", error.messages


@settings(max_examples=1000, deadline=None)
@given(bodies)
def test_quick_check_matches_the_schema(body):
    assert outcome(load_event_batch, body) == outcome(with_schema, body)


EDGE_VALUES = {
    "type": [" page.view", "page.view\n", "Page", "1abc", "", "a" * 64, "a" * 65, "a b", 1, None],
    "customer_id": [0, -1, 1, 2**31 - 1, 2**31, True, False, 3.0, 3.5, "7", " 8 ", None, []],
    "data": [None, {}, {"text": "я" * 8000}, {"text": "я" * 8300}, [1], "x", 0],
    "created_at": [
        "2026-01-10T10:00:00",
        " 2026-01-10T10:00Z ",
        "2026-01-10",
        "2999-01-01T00:00:00Z",
        "10.01.2026",
        "",
        None,
        0,
    ],
}


@pytest.mark.parametrize(
    "key,value", [(key, value) for key, values in EDGE_VALUES.items() for value in values]
)
def test_each_edge_value_matches_the_schema(key, value):
    body = {"events": [{"type": "page.view", "customer_id": 1}, {"type": "cart.add", key: value}]}
    assert outcome(load_event_batch, body) == outcome(with_schema, body)


def test_batch_size_limits_match_the_schema():
    for size in (0, 1, 1000, 1001):
        body = {"events": [{"type": "page.view"}] * size}
        assert outcome(load_event_batch, body) == outcome(with_schema, body)
