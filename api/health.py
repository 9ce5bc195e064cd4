"""Shapes of the health report."""

from marshmallow import Schema, fields


class HealthChecksSchema(Schema):
    db = fields.String()
    broker = fields.String()
    migrations = fields.String(metadata={"description": "ok, pending or unknown"})
    redis = fields.String(
        metadata={"description": "the rate-limit Redis: ok, error (limits fail open) or disabled"}
    )


class HealthSchema(Schema):
    status = fields.String()
    service = fields.String()
    checks = fields.Nested(HealthChecksSchema)
    rate_limit_backend = fields.String(
        metadata={
            "description": "where rate limits are counted: redis (all workers and hosts) "
            "or memory (this process)"
        }
    )
    pending_migrations = fields.List(
        fields.String(), metadata={"description": "revisions not applied, when any"}
    )


class HelloSchema(Schema):
    hello = fields.String()
