"""Base schemas: unknown keys ignored, pagination, and the flattening of error paths."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load

from api.fields import Int


class RequestSchema(Schema):
    """Every request schema ignores unknown keys (the clients send extras)."""

    class Meta:
        unknown = EXCLUDE


class CreateSchema(RequestSchema):
    """On create, `""` and `null` in an optional field both mean "not given"."""

    @pre_load
    def drop_blank_optionals(self, data, **kwargs):
        if not isinstance(data, dict):
            return data
        return {
            key: value
            for key, value in data.items()
            if not (
                key in self.fields
                and not self.fields[key].required
                and (value is None or value == "")
            )
        }


class PageQuerySchema(RequestSchema):
    limit = Int(minimum=1, maximum=500, load_default=50)
    offset = Int(minimum=0, load_default=0)


class MessageSchema(Schema):
    message = fields.String()


class DeletedCountSchema(Schema):
    count_deleted = fields.Integer()


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """The `{"items": [...], "count": N}` envelope around an item schema."""
    return Schema.from_dict(
        {"items": fields.List(fields.Nested(item_schema)), "count": fields.Integer()}, name=name
    )


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict -> {"variations.0.amount": ["..."]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                path = prefix or "_schema"
            for sub_path, sub_messages in flatten_errors(value, path).items():
                flat.setdefault(sub_path, []).extend(sub_messages)
    elif isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        flat[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for item in messages:
            for sub_path, sub_messages in flatten_errors(item, prefix).items():
                flat.setdefault(sub_path, []).extend(sub_messages)
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def load(schema: Schema, data: Any, partial: bool = False) -> dict:
    """Load with a schema; a non-object body is a validation error like any other."""
    if data is None:
        data = {}
    if not isinstance(data, dict) and not schema.many:
        raise ValidationError({"_schema": ["Invalid input type."]})
    return schema.load(data, partial=partial)
