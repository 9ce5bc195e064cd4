"""Shapes of variation images: the upload's query and its answer."""

from __future__ import annotations

from marshmallow import Schema, fields

from api.base import RequestSchema
from api.fields import Int


class ImageQuerySchema(RequestSchema):
    variation_id = Int(required=True, minimum=1)


class ImageUploadedSchema(Schema):
    image_url = fields.String()
    variation_id = fields.Integer()
