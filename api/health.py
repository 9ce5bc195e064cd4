"""Shapes of the health report."""

from marshmallow import Schema, fields


class HealthChecksSchema(Schema):
    db = fields.String()
    broker = fields.String()
    migrations = fields.String(metadata={"description": "ok, pending or unknown"})


class HealthSchema(Schema):
    status = fields.String()
    service = fields.String()
    checks = fields.Nested(HealthChecksSchema)
    pending_migrations = fields.List(
        fields.String(), metadata={"description": "revisions not applied, when any"}
    )
