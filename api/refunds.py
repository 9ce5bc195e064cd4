"""Shapes of refunds: the staff request (full, or by lines and delivery) and the refund."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from marshmallow.utils import get_value

from api.base import RequestSchema
from api.fields import Bool, Int, MarkingCode, Timestamp
from api.marking_codes import CODES_LIMIT, unique_codes
from helpers.money import payment_state, to_rubles


class RefundLineInSchema(RequestSchema):
    """One order line, named by its own id or by its variation (an order has one line each)."""

    line_id = Int(minimum=1)
    variation_id = Int(minimum=1)
    quantity = Int(required=True, minimum=1, maximum=1000)
    marking_codes = fields.List(
        MarkingCode(),
        validate=validate.Length(max=CODES_LIMIT),
        metadata={"description": "codes of the returned labelled units, as on the receipt"},
    )

    @validates_schema
    def names_one_line(self, data, **_kwargs):
        if ("line_id" in data) == ("variation_id" in data):
            raise ValidationError("Give either line_id or variation_id.", "line_id")

    @validates_schema
    def codes_fit_the_quantity(self, data, **_kwargs):
        codes = data.get("marking_codes", [])
        unique_codes(codes, "marking_codes")
        if len(codes) > data.get("quantity", len(codes)):
            raise ValidationError("More codes than units.", "marking_codes")


class RefundRequestSchema(RequestSchema):
    """Empty body or `{"full": true}`: everything not refunded yet. Otherwise `lines` and/or
    `delivery: true`."""

    full = Bool()
    lines = fields.List(fields.Nested(RefundLineInSchema), validate=validate.Length(min=1, max=100))
    delivery = Bool()

    @validates_schema
    def full_or_parts(self, data, **_kwargs):
        parts = bool(data.get("lines")) or data.get("delivery") is True
        if data.get("full") is True and parts:
            raise ValidationError("Cannot be combined with lines or delivery.", "full")
        named = "full" in data or "lines" in data or "delivery" in data
        if not parts and named and data.get("full") is not True:
            raise ValidationError("Name the lines or the delivery to refund.", "lines")


class RefundLineSchema(Schema):
    line_id = fields.Integer()
    variation_id = fields.Integer()
    quantity = fields.Integer()
    unit_price = fields.Integer()
    marking_codes = fields.List(
        fields.String(), metadata={"description": "codes of the returned labelled units"}
    )


class RefundSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    kind = fields.String(metadata={"enum": ["refund", "reversal"]})
    source = fields.String(metadata={"enum": ["staff", "auto", "gateway"]})
    state = fields.String(metadata={"enum": ["pending", "succeeded", "failed"]})
    amount = fields.Function(
        lambda refund: to_rubles(get_value(refund, "amount_kopecks")),
        metadata={"type": "integer", "description": "whole rubles (kopecks dropped)"},
    )
    amount_kopecks = fields.Integer()
    delivery = fields.Boolean()
    lines = fields.List(fields.Nested(RefundLineSchema))
    restocked = fields.Boolean(metadata={"description": "the units went back to stock"})
    staff_user_id = fields.Integer(allow_none=True)
    gateway_code = fields.String(allow_none=True)
    gateway_message = fields.String(allow_none=True)
    created_at = Timestamp()
    settled_at = Timestamp(allow_none=True)
    refunded_sum = fields.Function(
        lambda refund: to_rubles(get_value(refund, "order.refunded_kopecks")),
        metadata={"type": "integer", "description": "the order's refunded total, rubles"},
    )
    payment_state = fields.Function(
        lambda refund: payment_state(
            get_value(refund, "order.payment_state"), get_value(refund, "order.is_payed")
        ),
        metadata={"type": "string", "enum": ["unpaid", "paid", "partially_refunded", "refunded"]},
    )
