"""Shapes of customers: registration, login, profile, contacts and the admin list."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validates

from api.base import CreateSchema, PageQuerySchema, RequestSchema, page_schema
from api.fields import Bool, Date, Email, Phone, Str, Timestamp


def password_fits_bcrypt(value: str) -> None:
    if len(value.encode()) > 72:
        raise ValidationError("Longer than 72 bytes.")


def not_in_future(value: date) -> None:
    if value > date.today():
        raise ValidationError("Must not be in the future.")


class CustomerShortSchema(Schema):
    """A customer as an order shows them."""

    id = fields.Integer()
    login = fields.String(allow_none=True)
    first_name = fields.String()
    second_name = fields.String()
    last_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    birthday = fields.Date(allow_none=True)
    phone_number = fields.String(allow_none=True)


class CustomerSchema(CustomerShortSchema):
    uuid = fields.String()
    gender = fields.String(allow_none=True)
    age = fields.Integer(allow_none=True)
    country = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    is_registered = fields.Boolean()
    status = fields.String()
    created_at = Timestamp()
    updated_at = Timestamp()
    last_auth_at = Timestamp(allow_none=True)
    deleted_at = Timestamp(allow_none=True)


CustomerPageSchema = page_schema(CustomerSchema, "CustomerPage")


class CustomerCreateSchema(CreateSchema):
    first_name = Str(required=True, non_empty=True, max_length=255)
    second_name = Str(required=True, non_empty=True, max_length=255)
    last_name = Str(max_length=255)
    phone_number = Phone(required=True)
    password = fields.String(required=True, load_only=True)
    login = Str(non_empty=True, max_length=255)
    email = Email()
    birthday = Date(validate=not_in_future)
    gender = Str(max_length=10)
    country = Str(max_length=100)
    address = Str(max_length=255)

    @validates("password")
    def check_password(self, value: str, data_key: str) -> None:
        if not value:
            raise ValidationError("Must not be empty.")
        password_fits_bcrypt(value)


class CustomerUpdateSchema(RequestSchema):
    first_name = Str(non_empty=True, max_length=255)
    second_name = Str(non_empty=True, max_length=255)
    last_name = Str(max_length=255, allow_none=True)
    phone_number = Phone(allow_none=True)
    password = fields.String(load_only=True)
    login = Str(non_empty=True, max_length=255, allow_none=True)
    email = Email(allow_none=True)
    birthday = Date(validate=not_in_future, allow_none=True)
    gender = Str(max_length=10, allow_none=True)
    country = Str(max_length=100, allow_none=True)
    address = Str(max_length=255, allow_none=True)

    @validates("password")
    def check_password(self, value: str, data_key: str) -> None:
        if not value:
            raise ValidationError("Must not be empty.")
        password_fits_bcrypt(value)


class ContactsSchema(RequestSchema):
    email = Email(required=True, allow_none=True)
    phone_number = Phone(required=True, allow_none=True)


class CustomerLoginSchema(RequestSchema):
    login = Str(required=True, non_empty=True)
    password = fields.String(required=True, load_only=True)


class CustomerTokenSchema(Schema):
    customer_id = fields.Integer()
    Authorization = fields.String()


class CustomerListQuerySchema(PageQuerySchema):
    status = Str(load_default="active")
    is_registered = Bool()
    q = Str(max_length=255)
    created_from = Date()
    created_to = Date()

    @validates("status")
    def check_status(self, value: str, data_key: str) -> None:
        if value not in {"active", "deleted", "all"}:
            raise ValidationError("Must be one of: active, deleted, all.")


class ImportRequestSchema(RequestSchema):
    dry_run = Bool(load_default=False)


class ImportReportSchema(Schema):
    dry_run = fields.Boolean()
    read = fields.Integer()
    inserted = fields.Integer()
    skipped_existing = fields.Integer()
    skipped_phone_exists = fields.Integer()
    duplicates_in_source = fields.Integer()
    invalid_phone = fields.Integer()
    invalid_email = fields.Integer()
    duration_s = fields.Float()
