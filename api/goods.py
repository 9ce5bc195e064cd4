"""Shapes of goods and of the storefront catalogue query."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.base import CreateSchema, RequestSchema
from api.directories import ColorSchema, ItemSchema
from api.fields import INT32_MAX, Bool, Int, Money, Number, Str, TaxType
from api.variations import VariationFullSchema
from db.queries.catalog import SORTS


class GoodSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    article = fields.String()
    good_1c_id = fields.String(allow_none=True)
    category_id = fields.Integer()
    barcode = fields.String(allow_none=True)
    structure_id = fields.Integer()
    products_care_id = fields.Integer(allow_none=True)
    description = fields.String()
    is_visible = fields.Boolean()
    default_variation = fields.Integer(allow_none=True)
    weight = fields.Float(allow_none=True)
    tax_type = fields.Integer(
        allow_none=True, metadata={"description": "own VAT type; null = the category's"}
    )
    is_marked = fields.Boolean(metadata={"description": "subject to mandatory labelling"})


class GoodDetailSchema(GoodSchema):
    category_name = fields.String()
    structure_name = fields.String()
    products_care_name = fields.String(allow_none=True)
    variations = fields.List(fields.Nested(VariationFullSchema))
    variations_to_show = fields.List(fields.Integer())


class StorefrontColorSchema(ColorSchema):
    sizes = fields.List(fields.Nested(ItemSchema))


class StorefrontGoodSchema(Schema):
    """A good of the storefront catalogue `GET /goods/all`."""

    id = fields.Integer()
    name = fields.String()
    article = fields.String()
    category_id = fields.Integer()
    structure_id = fields.Integer()
    products_care_id = fields.Integer(allow_none=True)
    description = fields.String()
    is_visible = fields.Boolean()
    default_variation = fields.Integer(allow_none=True)
    weight = fields.Float(allow_none=True)
    structure = fields.String()
    products_care = fields.String(allow_none=True)
    variations = fields.List(fields.Nested(VariationFullSchema))
    colors = fields.List(fields.Nested(StorefrontColorSchema))
    variations_to_show = fields.List(fields.Integer())


def _not_negative(value: float) -> None:
    if value < 0:
        raise ValidationError("Must be at least 0.")


class GoodCreateSchema(CreateSchema):
    name = Str(required=True, non_empty=True, max_length=255)
    article = Str(required=True, non_empty=True, max_length=255)
    description = Str(required=True)
    category_id = Int(required=True, minimum=1)
    structure_id = Int(required=True, minimum=1)
    weight = Number(required=True, validate=_not_negative)
    good_1c_id = Str(max_length=255)
    barcode = Str(max_length=255)
    products_care_id = Int(minimum=1)
    is_visible = Bool()
    tax_type = TaxType()
    is_marked = Bool()


class GoodUpdateSchema(RequestSchema):
    name = Str(non_empty=True, max_length=255)
    article = Str(non_empty=True, max_length=255)
    description = Str()
    category_id = Int(minimum=1)
    structure_id = Int(minimum=1)
    weight = Number(validate=_not_negative, allow_none=True)
    good_1c_id = Str(max_length=255, allow_none=True)
    barcode = Str(max_length=255, allow_none=True)
    products_care_id = Int(minimum=1, allow_none=True)
    is_visible = Bool()
    tax_type = TaxType(allow_none=True)
    is_marked = Bool()


class CatalogQuerySchema(RequestSchema):
    category_id = Int(minimum=1)
    color_id = Int(minimum=1)
    size_id = Int(minimum=1)
    page = Int(minimum=1)
    count = Int(minimum=1, load_default=10)
    q = Str(max_length=200)
    price_min = Money()
    price_max = Money()
    in_stock = Bool()
    sort = fields.String(validate=validate.OneOf(SORTS))

    @validates_schema
    def price_range_is_ordered(self, data, **_kwargs):
        if data.get("price_min", 0) > data.get("price_max", INT32_MAX):
            raise ValidationError("Must not exceed price_max.", "price_min")
