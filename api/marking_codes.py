"""Shapes of marking codes: the codes of an order line's labelled units."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.base import RequestSchema
from api.fields import MarkingCode

CODES_LIMIT = 1000


def unique_codes(codes: list[str], field_name: str) -> None:
    repeated = sorted({code for code in codes if codes.count(code) > 1})
    if repeated:
        raise ValidationError(f"Codes repeat: {', '.join(repeated)}.", field_name)


class MarkingCodesSchema(RequestSchema):
    """All the codes of the line's units given so far; they replace the line's codes."""

    marking_codes = fields.List(
        MarkingCode(), required=True, validate=validate.Length(max=CODES_LIMIT)
    )

    @validates_schema
    def codes_do_not_repeat(self, data, **_kwargs):
        unique_codes(data.get("marking_codes", []), "marking_codes")


class LineMarkingCodesSchema(Schema):
    order_id = fields.Integer()
    line_id = fields.Integer(attribute="id")
    variation_id = fields.Integer()
    quantity = fields.Integer(attribute="amount", metadata={"description": "units in the line"})
    marking_codes = fields.List(fields.String())
