"""Shapes of contact-form messages."""

from __future__ import annotations

from marshmallow import Schema, fields

from api.base import CreateSchema
from api.fields import Email, Str


class ContactFormCreateSchema(CreateSchema):
    customer_name = Str(required=True, non_empty=True, max_length=255)
    phone_number = Str(required=True, non_empty=True, max_length=255)
    text = Str(max_length=2000)
    email = Email()


class ContactFormSchema(Schema):
    id = fields.Integer()
    customer_name = fields.String()
    phone_number = fields.String()
    text = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
