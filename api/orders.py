"""Shapes of orders: placement, the basic and full order, admin edits and filters."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from marshmallow.utils import get_value

from api.base import CreateSchema, RequestSchema, page_schema
from api.customers import CustomerShortSchema
from api.directories import CategorySchema, ColorSchema, ItemSchema
from api.fields import Bool, Date, Email, Int, Joined, Money, Phone, Str, Timestamp
from api.goods import GoodSchema
from api.variations import VariationSchema
from helpers.money import payment_state, to_rubles


class OrderLineInSchema(RequestSchema):
    variation_id = Int(required=True, minimum=1)
    amount = Int(required=True, minimum=1, maximum=1000)
    current_price = Money(required=True)


class OrderCreateSchema(CreateSchema):
    first_name = Str(required=True, non_empty=True, max_length=255)
    second_name = Str(required=True, non_empty=True, max_length=255)
    last_name = Str(max_length=255)
    phone_number = Phone(required=True)
    email = Email(required=True)
    delivery_type_id = Int(required=True, minimum=1)
    delivery_cost = Money(required=True)
    city = Str(required=True, max_length=255)
    street = Str(required=True, max_length=255)
    delivery_address = Str(required=True, max_length=1000)
    house_number = Str(max_length=20)
    apartment = Str(max_length=20)
    other_info = Str(max_length=1000)
    is_cash_payment = Bool(load_default=False)
    variations = fields.List(
        fields.Nested(OrderLineInSchema), required=True, validate=validate.Length(max=100)
    )


class OrderLineSchema(Schema):
    id = fields.Integer()
    variation_id = fields.Integer()
    amount = fields.Integer()
    current_price = fields.Integer()


class OrderBasicSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer(allow_none=True)
    is_payed = fields.Boolean()
    status_id = fields.Integer()
    delivery_type_id = fields.Integer()
    sberbank_id = fields.String(allow_none=True)
    city = fields.String()
    street = fields.String()
    house_number = fields.String(allow_none=True)
    apartment = fields.String(allow_none=True)
    other_info = fields.String(allow_none=True)
    is_cash_payment = fields.Boolean()
    delivery_address = fields.String()
    delivery_cost = fields.Integer()
    created_at = Timestamp()
    total_sum = fields.Integer()
    refunded_sum = fields.Function(
        lambda order: to_rubles(get_value(order, "refunded_kopecks")),
        metadata={"type": "integer", "description": "refunded to the buyer, rubles"},
    )
    payment_state = fields.Function(
        lambda order: payment_state(
            get_value(order, "payment_state"), get_value(order, "is_payed")
        ),
        metadata={"type": "string", "enum": ["unpaid", "paid", "partially_refunded", "refunded"]},
    )


class OrderCreatedSchema(OrderBasicSchema):
    variations = fields.List(fields.Nested(OrderLineSchema))


class ContactSchema(Schema):
    """The buyer's contacts as given for this order."""

    first_name = fields.String(allow_none=True)
    second_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    phone_number = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class OrderGoodSchema(GoodSchema):
    category = fields.Nested(CategorySchema)


class OrderVariationSchema(VariationSchema):
    good = fields.Nested(OrderGoodSchema)
    color = fields.Nested(ColorSchema)
    size = fields.Nested(ItemSchema)


class OrderLineFullSchema(OrderLineSchema):
    order_id = fields.Integer()
    variation = fields.Nested(OrderVariationSchema, allow_none=True)


class OrderFullSchema(OrderBasicSchema):
    customer = fields.Nested(CustomerShortSchema, allow_none=True)
    status = fields.Nested(ItemSchema)
    delivery_type = fields.Nested(ItemSchema)
    contact = Joined(ContactSchema, "contact_")
    variations = fields.List(fields.Nested(OrderLineFullSchema))


OrderPageSchema = page_schema(OrderFullSchema, "OrderPage")


class OrderUpdateSchema(RequestSchema):
    id = Int()
    status_id = Int(minimum=1)
    is_payed = Bool()
    customer_id = Int(minimum=1)
    delivery_type_id = Int(minimum=1)
    delivery_cost = Money()
    delivery_address = Str(max_length=1000)
    sberbank_id = Str(max_length=64, allow_none=True)
    city = Str(max_length=255)
    street = Str(max_length=255)
    house_number = Str(max_length=20, allow_none=True)
    apartment = Str(max_length=20, allow_none=True)
    other_info = Str(max_length=1000, allow_none=True)


class OrderListQuerySchema(RequestSchema):
    limit = Int(minimum=1, maximum=500)
    offset = Int(minimum=0)
    status_id = Int(minimum=1)
    customer_id = Int(minimum=1)
    is_payed = Bool()
    created_from = Date()
    created_to = Date()
    q = Str(max_length=200)


class StatusChangeSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    status_id = fields.Integer()
    created_at = Timestamp()


StatusChangePageSchema = page_schema(StatusChangeSchema, "StatusChangePage")


class StatusChangeQuerySchema(RequestSchema):
    limit = Int(minimum=1, maximum=500)
    offset = Int(minimum=0)
    status_id = Int(minimum=1)
