"""Shapes of the health report."""

from marshmallow import Schema, fields


class HealthChecksSchema(Schema):
    db = fields.String()
    broker = fields.String()


class HealthSchema(Schema):
    status = fields.String()
    service = fields.String()
    checks = fields.Nested(HealthChecksSchema)
