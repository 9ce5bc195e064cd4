"""Shapes of activity events and their daily statistics."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, validates

from api.base import PageQuerySchema, RequestSchema
from api.fields import Date, Int, Str, Timestamp
from db.models.base import utcnow

EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
MAX_DATA_BYTES = 16 * 1024


def check_event_type(value: str) -> None:
    if not EVENT_TYPE.match(value):
        raise ValidationError("Must match ^[a-z][a-z0-9_.:-]{0,63}$.")


class ActivityEventSchema(Schema):
    id = fields.Integer()
    type = fields.String()
    customer_id = fields.Integer(allow_none=True)
    data = fields.Dict(allow_none=True)
    created_at = Timestamp()


class EventInSchema(RequestSchema):
    type = Str(required=True, validate=check_event_type)
    customer_id = Int(minimum=1, allow_none=True)
    data = fields.Dict(allow_none=True)
    created_at = Timestamp()

    @validates("data")
    def check_size(self, value, data_key: str) -> None:
        if value is not None and len(json.dumps(value, ensure_ascii=False).encode()) > (
            MAX_DATA_BYTES
        ):
            raise ValidationError("Must be at most 16 KiB serialised.")

    @validates("created_at")
    def check_not_future(self, value, data_key: str) -> None:
        if value > utcnow() + timedelta(minutes=5):
            raise ValidationError("Must not be more than 5 minutes in the future.")


class EventBatchSchema(RequestSchema):
    events = fields.List(fields.Nested(EventInSchema), required=True)

    @validates("events")
    def check_length(self, value, data_key: str) -> None:
        if not 1 <= len(value) <= 1000:
            raise ValidationError("Must hold 1 to 1000 events.")


class EventQuerySchema(PageQuerySchema):
    type = Str(max_length=64)
    customer_id = Int(minimum=1)
    date_from = Date()
    date_to = Date()


class StatsQuerySchema(PageQuerySchema):
    date_from = Date()
    date_to = Date()
