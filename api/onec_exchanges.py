"""Shapes of the 1C exchange: the protocol's query parameters and the exchange log."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.base import PageQuerySchema, RequestSchema, page_schema
from api.fields import Str, Timestamp

EXCHANGE_TYPES = ("catalog", "sale")
EXCHANGE_MODES = (
    "checkauth",
    "init",
    "file",
    "import",
    "query",
    "success",
    "deactivate",
    "complete",
)


class ExchangeQuerySchema(RequestSchema):
    """What 1C puts in the query string; the extras of newer versions (sessid, version,
    timestamp...) are ignored."""

    type = Str(required=True, validate=validate.OneOf(EXCHANGE_TYPES))
    mode = Str(required=True, validate=validate.OneOf(EXCHANGE_MODES))
    filename = Str(max_length=255, metadata={"description": "relative, [A-Za-z0-9_./-] only"})


class ExchangeLogQuerySchema(PageQuerySchema):
    type = Str(validate=validate.OneOf(EXCHANGE_TYPES))
    outcome = Str(validate=validate.OneOf(("success", "failure", "progress")))


class ExchangeSchema(Schema):
    id = fields.Integer()
    session_id = fields.Integer(allow_none=True)
    type = fields.String()
    mode = fields.String()
    filename = fields.String(allow_none=True)
    outcome = fields.String(metadata={"enum": ["success", "failure", "progress"]})
    message = fields.String(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True)
    attempts = fields.Integer(metadata={"description": "imports: how many times it was started"})
    started_at = Timestamp()
    finished_at = Timestamp(allow_none=True)


ExchangePageSchema = page_schema(ExchangeSchema, "ExchangePage")
