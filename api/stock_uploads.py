"""Shapes of the 1C uploads: JSON remains and the upload reports."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validates

from api.base import RequestSchema
from api.fields import Bool, Int


class OneCCode(fields.String):
    """A 1C code as text; integers are accepted and written without a fraction."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise ValidationError("Must not be empty.")
        return text


class RemainsItemSchema(RequestSchema):
    one_c_id = OneCCode(required=True)
    amount = Int(required=True)


class JsonRemainsSchema(RequestSchema):
    variations_data = fields.List(fields.Nested(RemainsItemSchema), required=True)
    full_report = Bool(load_default=True)

    @validates("variations_data")
    def check_length(self, value, data_key: str) -> None:
        if not 1 <= len(value) <= 100_000:
            raise ValidationError("Must hold 1 to 100000 items.")


class RemainsResultSchema(Schema):
    message = fields.String()
    rows = fields.Integer()
    updated = fields.Integer()
    zeroed = fields.Integer()
    unknown_codes = fields.Integer()
    unknown_code_samples = fields.List(fields.String())
    skipped_rows = fields.Integer()


class WeightsResultSchema(Schema):
    message = fields.String()
    rows = fields.Integer()
    updated = fields.Integer()
    unknown_articles = fields.Integer()
    unknown_article_samples = fields.List(fields.String())
    skipped_rows = fields.Integer()
