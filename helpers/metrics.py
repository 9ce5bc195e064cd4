"""Prometheus metrics of the contract (names are part of the API)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

http_requests_total = Counter(
    "http_requests_total", "HTTP requests", ["method", "route", "status"], registry=REGISTRY
)
http_request_duration_seconds = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
outbox_pending = Gauge("outbox_pending", "Undelivered outbox rows", ["kind"], registry=REGISTRY)
outbox_oldest_pending_age_seconds = Gauge(
    "outbox_oldest_pending_age_seconds", "Age of the oldest undelivered row", registry=REGISTRY
)
outbox_delivered_total = Counter(
    "outbox_delivered_total", "Delivered outbox rows", ["kind"], registry=REGISTRY
)
outbox_failed_total = Counter(
    "outbox_failed_total", "Outbox rows given up", ["kind"], registry=REGISTRY
)
orders_created_total = Counter("orders_created_total", "Orders placed", registry=REGISTRY)
orders_paid_total = Counter("orders_paid_total", "Orders paid", registry=REGISTRY)
payment_gateway_requests_total = Counter(
    "payment_gateway_requests_total",
    "Calls to the payment gateway",
    ["method", "result"],
    registry=REGISTRY,
)
stock_uploads_total = Counter(
    "stock_uploads_total", "1C stock and weight uploads", ["kind", "result"], registry=REGISTRY
)
onec_import_items_total = Counter(
    "onec_import_items_total",
    "Groups, goods and offers read by the 1C CommerceML import, by what became of them",
    ["kind", "result"],
    registry=REGISTRY,
)
legacy_import_rows_total = Counter(
    "legacy_import_rows_total", "Rows read by the legacy import", ["result"], registry=REGISTRY
)
onec_exchange_requests_total = Counter(
    "onec_exchange_requests_total",
    "Calls of the 1C exchange by answer",
    ["type", "mode", "result"],
    registry=REGISTRY,
)
customers = Gauge("customers", "Customers", ["status", "is_registered"], registry=REGISTRY)

OUTBOX_KINDS = ("telegram", "email", "event", "payment_confirm")
