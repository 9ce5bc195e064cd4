"""Shapes of staff users and their login."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validates

from api.base import RequestSchema, page_schema
from api.fields import Str


def _password_fits_bcrypt(value: str) -> None:
    if len(value.encode()) > 72:
        raise ValidationError("Longer than 72 bytes.")


class StaffUserSchema(Schema):
    id = fields.Integer()
    login = fields.String()
    first_name = fields.String()
    last_name = fields.String()


StaffUserPageSchema = page_schema(StaffUserSchema, "StaffUserPage")


class StaffUserCreateSchema(RequestSchema):
    login = Str(required=True, non_empty=True, max_length=255)
    password = Str(required=True, non_empty=True, load_only=True)
    first_name = Str(required=True, max_length=255)
    last_name = Str(required=True, max_length=255)

    @validates("password")
    def check_password(self, value: str, data_key: str) -> None:
        _password_fits_bcrypt(value)


class StaffUserUpdateSchema(RequestSchema):
    login = Str(non_empty=True, max_length=255)
    password = Str(non_empty=True, load_only=True)
    first_name = Str(max_length=255)
    last_name = Str(max_length=255)

    @validates("password")
    def check_password(self, value: str, data_key: str) -> None:
        _password_fits_bcrypt(value)


class LoginSchema(RequestSchema):
    login = Str(required=True)
    password = fields.String(required=True, load_only=True)


class StaffTokenSchema(Schema):
    user_id = fields.Integer()
    Authorization = fields.String()


class ApiKeySchema(RequestSchema):
    api_key = Str(required=True, non_empty=True, max_length=255)


class AccessTokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
