"""Shapes of activity events and their daily statistics."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, validates

from api.base import (
    CreateSchema,
    PageQuerySchema,
    RequestSchema,
    flatten_errors,
    load,
    page_schema,
)
from api.fields import INT32_MAX, Date, Int, Str, Timestamp
from db.models.base import utcnow

EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
MAX_DATA_BYTES = 16 * 1024
MAX_BATCH = 1000
FUTURE_TOLERANCE = timedelta(minutes=5)


def check_event_type(value: str) -> None:
    if not EVENT_TYPE.match(value):
        raise ValidationError("Must match ^[a-z][a-z0-9_.:-]{0,63}$.")


class ActivityEventSchema(Schema):
    id = fields.Integer()
    type = fields.String()
    customer_id = fields.Integer(allow_none=True)
    data = fields.Dict(allow_none=True)
    created_at = Timestamp()


ActivityEventPageSchema = page_schema(ActivityEventSchema, "ActivityEventPage")


class EventBatchResultSchema(Schema):
    count = fields.Integer()
    ids = fields.List(fields.Integer())


class DailyStatSchema(Schema):
    date = fields.String()
    event_amount = fields.Integer()


class CustomerDailyStatSchema(DailyStatSchema):
    customer_count = fields.Integer()
    events_per_customer = fields.Float()


DailyStatPageSchema = page_schema(DailyStatSchema, "DailyStatPage")
CustomerDailyStatPageSchema = page_schema(CustomerDailyStatSchema, "CustomerDailyStatPage")


class EventInSchema(CreateSchema):
    type = Str(required=True, validate=check_event_type)
    customer_id = Int(minimum=1, allow_none=True)
    data = fields.Dict(allow_none=True)
    created_at = Timestamp()

    @validates("data")
    def check_size(self, value, data_key: str) -> None:
        if value is not None and len(_json_bytes(value)) > MAX_DATA_BYTES:
            raise ValidationError("Must be at most 16 KiB serialised.")

    @validates("created_at")
    def check_not_future(self, value, data_key: str) -> None:
        if value > utcnow() + FUTURE_TOLERANCE:
            raise ValidationError("Must not be more than 5 minutes in the future.")


class EventBatchSchema(RequestSchema):
    events = fields.List(fields.Nested(EventInSchema), required=True)

    @validates("events")
    def check_length(self, value, data_key: str) -> None:
        if not 1 <= len(value) <= MAX_BATCH:
            raise ValidationError(f"Must hold 1 to {MAX_BATCH} events.")


EVENT_BATCH = EventBatchSchema()
_TIMESTAMP = Timestamp()


def load_event_batch(body) -> dict:
    """The batch as EventBatchSchema loads it.

    Well-formed batches, the usual case, take a direct check that is about ten times
    cheaper than the nested schema; anything it does not plainly accept goes through the
    schema, which gives the same result and the per-field error messages.
    """
    events = _plainly_valid_events(body)
    if events is None:
        return load(EVENT_BATCH, body)
    return {"events": events}


def read_event_batch(body) -> tuple[list[dict] | None, dict[str, list[str]], dict[int, int]]:
    """(events, invalid fields, customer id named by each item index); events None if invalid.

    The customers named by an invalid batch are returned too, so the caller can name the
    unknown ones along with the other invalid fields.
    """
    try:
        return load_event_batch(body)["events"], {}, {}
    except ValidationError as error:
        return None, flatten_errors(error.messages), _named_customers(body)


def _named_customers(body) -> dict[int, int]:
    items = body.get("events") if isinstance(body, dict) else None
    if not isinstance(items, list) or len(items) > MAX_BATCH:
        return {}
    named = {}
    for index, item in enumerate(items):
        customer_id = Int.parse(item.get("customer_id")) if isinstance(item, dict) else None
        if customer_id is not None and 1 <= customer_id <= INT32_MAX:
            named[index] = customer_id
    return named


def _plainly_valid_events(body) -> list[dict] | None:
    if not isinstance(body, dict) or not isinstance(raw := body.get("events"), list):
        return None
    if not 1 <= len(raw) <= MAX_BATCH:
        return None
    events = []
    for item in raw:
        event = _plainly_valid_event(item) if type(item) is dict else None
        if event is None:
            return None
        events.append(event)
    payloads = [event["data"] for event in events if event.get("data") is not None]
    # One serialisation of them all: only when together they pass the limit is each one measured.
    if (
        payloads
        and len(_json_bytes(payloads)) > MAX_DATA_BYTES
        and any(len(_json_bytes(payload)) > MAX_DATA_BYTES for payload in payloads)
    ):
        return None
    return events


def _plainly_valid_event(item: dict) -> dict | None:
    kind = item.get("type")
    if type(kind) is not str or not EVENT_TYPE.fullmatch(kind):
        return None
    # Like the schema (a create), a null optional field is left out as not given.
    event = {"type": kind}
    customer_id = item.get("customer_id")
    if customer_id is not None:
        if type(customer_id) is not int or not 1 <= customer_id <= INT32_MAX:
            return None
        event["customer_id"] = customer_id
    data = item.get("data")
    if data is not None:
        if type(data) is not dict:
            return None
        event["data"] = dict(data)
    if item.get("created_at") is not None:
        try:
            created_at = _TIMESTAMP.deserialize(item["created_at"])
        except ValidationError:
            return None
        if created_at > utcnow() + FUTURE_TOLERANCE:
            return None
        event["created_at"] = created_at
    return event


def _json_bytes(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


class EventQuerySchema(PageQuerySchema):
    type = Str(max_length=64)
    customer_id = Int(minimum=1)
    date_from = Date()
    date_to = Date()


class StatsQuerySchema(PageQuerySchema):
    date_from = Date()
    date_to = Date()
