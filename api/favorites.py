"""Shapes of favorites (a customer's wishlist of goods)."""

from __future__ import annotations

from marshmallow import Schema, fields

from api.base import PageQuerySchema, RequestSchema, page_schema
from api.fields import Date, Int, Timestamp


class FavoriteGoodSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    article = fields.String()
    category_id = fields.Integer()
    default_variation = fields.Integer(allow_none=True)


class FavoriteSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    good_id = fields.Integer()
    created_at = Timestamp()
    good = fields.Nested(FavoriteGoodSchema)


FavoritePageSchema = page_schema(FavoriteSchema, "FavoritePage")


class FavoriteAddSchema(RequestSchema):
    good_id = Int(required=True, minimum=1)


class FavoriteQuerySchema(PageQuerySchema):
    good_id = fields.List(Int(minimum=1))
    category_id = Int(minimum=1)
    created_from = Date()
    created_to = Date()


class AllFavoritesQuerySchema(FavoriteQuerySchema):
    customer_id = fields.List(Int(minimum=1))
