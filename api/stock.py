"""Shapes of the stock history: one movement of a variation's stock or reservation."""

from __future__ import annotations

from marshmallow import Schema, fields

from api.base import page_schema
from api.fields import Timestamp


class StockMovementSchema(Schema):
    id = fields.Integer()
    variation_id = fields.Integer()
    delta_stock = fields.Integer()
    delta_reserved = fields.Integer()
    stock = fields.Integer(metadata={"description": "stock after the movement"})
    reserved = fields.Integer(metadata={"description": "reserved after the movement"})
    reason = fields.String(
        metadata={
            "description": "opening, excel_remains, json_remains, commerceml, admin_create, "
            "admin_edit, order_reserve, order_release, order_consume or refund_return"
        }
    )
    order_id = fields.Integer(allow_none=True)
    upload_id = fields.String(allow_none=True)
    actor_kind = fields.String(metadata={"description": "staff, api_client, customer or system"})
    actor_id = fields.Integer(allow_none=True)
    created_at = Timestamp()


StockMovementPageSchema = page_schema(StockMovementSchema, "StockMovementPage")
