"""Shapes of the directories: materials, categories, structures, care, sizes, colors, statuses."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields

from api.base import CreateSchema, RequestSchema
from api.fields import INT32_MAX, INT32_MIN, Int, Str, TaxType


class ItemSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class CategorySchema(ItemSchema):
    parent_id = fields.Integer(allow_none=True)
    tax_type = fields.Integer(
        allow_none=True, metadata={"description": "VAT type of its goods; null = the parent's"}
    )


class ColorSchema(ItemSchema):
    code = fields.String()


class DeliveryTypeSchema(ItemSchema):
    cost = fields.Integer(allow_none=True)


class ItemCreateSchema(CreateSchema):
    name = Str(required=True, non_empty=True, max_length=255)


class CategoryCreateSchema(ItemCreateSchema):
    parent_id = Int(minimum=1)
    tax_type = TaxType()


class ColorCreateSchema(ItemCreateSchema):
    code = Str(required=True, non_empty=True, max_length=50)


class DeliveryTypeCreateSchema(ItemCreateSchema):
    cost = Int(minimum=0, allow_none=True)


class ItemUpdateSchema(RequestSchema):
    name = Str(non_empty=True, max_length=255)


class CategoryUpdateSchema(ItemUpdateSchema):
    parent_id = Int(minimum=1, allow_none=True)
    tax_type = TaxType(allow_none=True)


class ColorUpdateSchema(ItemUpdateSchema):
    code = Str(non_empty=True, max_length=50)


class DeliveryTypeUpdateSchema(ItemUpdateSchema):
    cost = Int(minimum=0, allow_none=True)


class ParentFilter(fields.Field):
    """An integer id, or the string `null` for top-level categories."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.strip().lower() == "null":
            return None
        number = Int.parse(value)
        if number is None or not INT32_MIN <= number <= INT32_MAX:
            raise ValidationError("Not a valid integer.")
        return number


class CategoryQuerySchema(RequestSchema):
    parent_id = ParentFilter(metadata={"type": "string", "description": "id or `null`"})
    name = Str(max_length=255)


SCHEMAS = {
    "materials": (ItemSchema, ItemCreateSchema, ItemUpdateSchema),
    "categories": (CategorySchema, CategoryCreateSchema, CategoryUpdateSchema),
    "structures": (ItemSchema, ItemCreateSchema, ItemUpdateSchema),
    "products_care": (ItemSchema, ItemCreateSchema, ItemUpdateSchema),
    "sizes": (ItemSchema, ItemCreateSchema, ItemUpdateSchema),
    "colors": (ColorSchema, ColorCreateSchema, ColorUpdateSchema),
    "statuses": (ItemSchema, ItemCreateSchema, ItemUpdateSchema),
    "delivery_types": (DeliveryTypeSchema, DeliveryTypeCreateSchema, DeliveryTypeUpdateSchema),
}
