"""Shapes of the assortment bot's users (64-bit chat ids)."""

from __future__ import annotations

from marshmallow import Schema, fields

from api.base import CreateSchema, RequestSchema
from api.fields import INT64_MAX, INT64_MIN, Int


class TelegramUserSchema(Schema):
    chat_id = fields.Integer()
    status_id = fields.Integer()


class TelegramUserCreateSchema(CreateSchema):
    chat_id = Int(required=True, minimum=INT64_MIN, maximum=INT64_MAX)
    status_id = Int(load_default=10)


class TelegramUserUpdateSchema(RequestSchema):
    chat_id = Int(minimum=INT64_MIN, maximum=INT64_MAX)
    status_id = Int()
