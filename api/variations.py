"""Shapes of variations: the plain object, the full one with color, size and images."""

from __future__ import annotations

from marshmallow import Schema, fields
from marshmallow.utils import get_value

from api.base import CreateSchema, RequestSchema
from api.directories import ColorSchema, ItemSchema
from api.fields import Bool, Int, Joined, Money, Str


def available(variation) -> int:
    """What can be sold: stock less the units reserved by open orders."""
    return max(get_value(variation, "stock") - get_value(variation, "reserved"), 0)


class ImageSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    model_info = fields.String(allow_none=True)


class VariationSchema(Schema):
    id = fields.Integer()
    good_id = fields.Integer()
    name = fields.String()
    color_id = fields.Integer()
    size_id = fields.Integer()
    price = fields.Integer()
    discounted_price = fields.Integer(allow_none=True)
    variation_1c_id = fields.String(allow_none=True)
    amount = fields.Function(available)
    barcode = fields.String(allow_none=True)
    is_sale = fields.Boolean()
    is_new = fields.Boolean()
    stock = fields.Integer()
    reserved = fields.Integer()


class VariationFullSchema(VariationSchema):
    color = Joined(ColorSchema, "color_")
    size = Joined(ItemSchema, "size_")
    size_name = fields.String()
    images = fields.List(fields.Nested(ImageSchema))


class VariationCreateSchema(CreateSchema):
    good_id = Int(required=True, minimum=1)
    color_id = Int(required=True, minimum=1)
    size_id = Int(required=True, minimum=1)
    name = Str(required=True, non_empty=True, max_length=255)
    price = Money(required=True)
    amount = Int(required=True, minimum=0)
    discounted_price = Money(allow_none=True)
    variation_1c_id = Str(max_length=255)
    barcode = Str(max_length=255)
    is_sale = Bool()
    is_new = Bool()
    is_default = Bool()


class VariationUpdateSchema(RequestSchema):
    good_id = Int(minimum=1)
    color_id = Int(minimum=1)
    size_id = Int(minimum=1)
    name = Str(non_empty=True, max_length=255)
    price = Money()
    amount = Int(minimum=0)
    stock = Int(minimum=0)
    discounted_price = Money(allow_none=True)
    variation_1c_id = Str(max_length=255, allow_none=True)
    barcode = Str(max_length=255, allow_none=True)
    is_sale = Bool()
    is_new = Bool()
    is_default = Bool()
