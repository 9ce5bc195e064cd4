"""Shapes of payment registration and status."""

from __future__ import annotations

from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validates

from api.base import RequestSchema
from api.fields import Int, Str

LOCAL_HOSTS = {"localhost", "127.0.0.1"}


def check_return_url(value: str, allowed_hosts: tuple[str, ...]) -> None:
    # Browsers read a backslash as a slash and skip user info: either could hide the real host.
    if "\\" in value or any(ord(char) < 32 for char in value):
        raise ValidationError("Must be an absolute https URL.")
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        well_formed = parts.port != 0 and "@" not in parts.netloc
    except ValueError:
        raise ValidationError("Must be an absolute https URL.") from None
    if parts.scheme not in {"https", "http"} or not host or not well_formed:
        raise ValidationError("Must be an absolute https URL.")
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise ValidationError("Must be an absolute https URL.")
    if host not in allowed_hosts:
        raise ValidationError("Host is not allowed.")


class RegisterPaymentSchema(RequestSchema):
    order_id = Int(required=True, minimum=1)
    return_url = Str(required=True, non_empty=True, max_length=512)
    fail_url = Str(required=True, non_empty=True, max_length=512)

    @validates("return_url", "fail_url")
    def check_url(self, value: str, data_key: str) -> None:
        check_return_url(value, self.context_hosts)

    def __init__(self, allowed_hosts: tuple[str, ...] = (), **kwargs):
        super().__init__(**kwargs)
        self.context_hosts = tuple(host.lower() for host in allowed_hosts)


class PaymentRegisteredSchema(Schema):
    order_id = fields.Integer()
    amount = fields.Integer()
    sberbank_order_id = fields.String()
    payment_form_url = fields.String()


class PaymentStatusSchema(Schema):
    order_id = fields.Integer()
    is_payed = fields.Boolean()
    status = fields.Integer(allow_none=True)
    amount = fields.Integer()
