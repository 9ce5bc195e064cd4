"""Shapes of the CRM-style registration `POST /register`."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.base import CreateSchema
from api.fields import Email, Int, Str, Timestamp


class RegisterSchema(CreateSchema):
    name = Str(required=True, non_empty=True, max_length=100)
    email = Email(required=True, validate=validate.Length(max=100))
    age = Int(minimum=0, maximum=150)
    gender = Str(max_length=10)
    country = Str(max_length=100)
    address = Str(max_length=255)
    phone = Str(max_length=25)


class RegisteredSchema(Schema):
    id = fields.Integer()
    user_uuid = fields.String()
    name = fields.String()
    email = fields.String()
    age = fields.Integer(allow_none=True)
    gender = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    registered_at = Timestamp()
