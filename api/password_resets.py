"""Shapes of the customer password reset: the request by email or phone, and the confirmation."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validates

from api.base import RequestSchema
from api.customers import password_fits_bcrypt
from api.fields import Str


class PasswordResetRequestSchema(RequestSchema):
    login = Str(required=True, non_empty=True, max_length=254)


class PasswordResetConfirmSchema(RequestSchema):
    token = Str(required=True, non_empty=True, max_length=200)
    password = fields.String(required=True, load_only=True)

    @validates("password")
    def check_password(self, value: str, data_key: str) -> None:
        if not value:
            raise ValidationError("Must not be empty.")
        password_fits_bcrypt(value)
