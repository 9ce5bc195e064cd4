"""Prometheus metrics of the contract (names are part of the API).

With several workers (PROMETHEUS_MULTIPROC_DIR set before this module is first imported, see
helpers/metrics_dir.py) each process writes its values to its own memory-mapped files and a
scrape adds them up: counters and histograms are summed, and the gauges read from the database
take the value most recently set by a live worker.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
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
# Set from the database by the worker that serves a scrape: the latest value is the truth.
outbox_pending = Gauge(
    "outbox_pending",
    "Undelivered outbox rows",
    ["kind"],
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
outbox_oldest_pending_age_seconds = Gauge(
    "outbox_oldest_pending_age_seconds",
    "Age of the oldest undelivered row",
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
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
customers = Gauge(
    "customers",
    "Customers",
    ["status", "is_registered"],
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
rate_limit_backend_errors_total = Counter(
    "rate_limit_backend_errors_total",
    "Calls to the rate-limit Redis that failed (their requests went on unlimited)",
    registry=REGISTRY,
)
onec_exchange_requests_total = Counter(
    "onec_exchange_requests_total",
    "Calls of the 1C exchange by answer",
    ["type", "mode", "result"],
    registry=REGISTRY,
)

OUTBOX_KINDS = ("telegram", "email", "event", "payment_confirm")

# The children of each (method, route, status), looked up once: `labels()` costs more than the
# update itself, and every request pays it.
_request_series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}


def count_request(method: str, route: str, status: str, seconds: float) -> None:
    key = (method, route, status)
    series = _request_series.get(key)
    if series is None:
        series = _request_series[key] = (
            http_requests_total.labels(method, route, status),
            http_request_duration_seconds.labels(method, route),
        )
    series[0].inc()
    series[1].observe(seconds)


def exposition() -> bytes:
    """The text format of every metric, summed over the workers in multiprocess mode.

    Reads every worker's files: call it in a thread when MULTIPROCESS."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry)


def process_exiting() -> None:
    """Drops this process's gauges from later scrapes; its counters stay in the sums."""
    if MULTIPROCESS:
        mark_process_dead(os.getpid())
