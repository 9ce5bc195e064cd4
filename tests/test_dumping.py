"""The compiled dumps equal marshmallow's for every response schema a route declares."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields

from api.dumping import dumper
from api.fields import Joined
from transport.app import _import_endpoint_modules
from transport.routing import ROUTES


class Row:
    """A row read by key and by attribute, like the database rows the services return."""

    def __init__(self, **values):
        self.__dict__.update(values)

    def __getitem__(self, key):
        return self.__dict__[key]

    def __setitem__(self, key, value):
        self.__dict__[key] = value


def sample_value(field: fields.Field, variant: int):
    if isinstance(field, fields.Nested):
        nested = field.schema
        many = nested.many or field.many
        one = sample(type(nested), variant)
        return [one, sample(type(nested), variant + 1)] if many else one
    if isinstance(field, fields.List):
        return [sample_value(field.inner, variant), sample_value(field.inner, variant + 1)]
    if field.allow_none and variant % 2:
        return None
    values = {
        fields.Boolean: variant % 3 == 0,
        fields.Integer: 40 + variant,
        fields.Float: Decimal("0.4") if variant % 2 else 1.5,
        fields.DateTime: datetime(2026, 11, 22, 10, 15, 30, 123456, tzinfo=UTC),
        fields.Date: date(1990, 5, 17),
        fields.Dict: {"a": variant},
        fields.String: f"Значение {variant}",
    }
    for kind, value in values.items():
        if isinstance(field, kind):
            return value
    return f"value {variant}"


def sample(schema_class: type[Schema], variant: int) -> Row:
    schema = schema_class()
    order = Row(refunded_kopecks=12345, payment_state=None, is_payed=True)
    row = Row(stock=9, reserved=variant % 12, amount_kopecks=54321, order=order, **order.__dict__)
    for name, field in schema.dump_fields.items():
        if isinstance(field, Joined):
            for key, value in sample(type(field.schema), variant).__dict__.items():
                row[field.prefix + key] = value
        elif field._CHECK_ATTRIBUTE and (variant < 2 or len(name) % 3):
            row[field.attribute or name] = sample_value(field, variant)
    return row


def response_schemas() -> list[type[Schema]]:
    _import_endpoint_modules()
    return sorted({spec.response for spec in ROUTES if spec.response}, key=lambda s: s.__name__)


@pytest.mark.parametrize("schema_class", response_schemas(), ids=lambda s: s.__name__)
def test_compiled_dump_equals_marshmallow(schema_class):
    for variant in range(4):
        row = sample(schema_class, variant)
        expected = schema_class().dump(row)
        assert dumper(schema_class)(row) == expected
        assert dumper(schema_class)(SimpleNamespace(**row.__dict__)) == expected
        assert dumper(schema_class, many=True)([row, row]) == [expected, expected]


def test_compiled_dump_keeps_missing_keys_out_and_reads_attributes_of_objects():
    class ItemSchema(Schema):
        id = fields.Integer()
        label = fields.String(data_key="name", attribute="title")
        count = fields.Integer(dump_default=0)

    assert dumper(ItemSchema)({"id": "5"}) == {"id": 5, "count": 0}
    assert dumper(ItemSchema)(SimpleNamespace(id=1, title=7)) == {"id": 1, "name": "7", "count": 0}
