"""Shapes of social network links."""

from __future__ import annotations

from marshmallow import Schema, fields

from api.base import CreateSchema, RequestSchema, page_schema
from api.fields import Str, Timestamp


class SocialAccountSchema(Schema):
    id = fields.Integer()
    network = fields.String()
    url = fields.String()
    reason = fields.String(allow_none=True)
    connected_at = Timestamp()


SocialAccountListSchema = page_schema(SocialAccountSchema, "SocialAccountList")


class SocialAccountCreateSchema(CreateSchema):
    network = Str(required=True, non_empty=True)
    url = Str(required=True, non_empty=True, max_length=512)
    reason = Str(max_length=255)


class SocialAccountReasonSchema(RequestSchema):
    reason = Str(required=True, allow_none=True, max_length=255)
