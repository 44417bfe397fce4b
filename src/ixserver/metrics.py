"""Prometheus metrics, served at `GET /metrics` (prometheus_client's text format).

Recorded where they happen: requests by method, route (its template: `/invoices/{document_id}.json`)
and status, and their latency (web/requestlog.py); the writer's batches — use cases per batch, the
time a use case waited for its batch, the time a batch took — and the races it lost to another
instance, by SQLSTATE (writes/batches.py); documents issued, by type (api/families.py,
api/payments.py); the read cache's hits and misses (web/cache.py). The job outbox's depth by
status is read from the database when /metrics is asked.

A server is several processes (`serve --workers N`; on SQLite, the writer process): `ixserver
serve` gives them a directory (PROMETHEUS_MULTIPROC_DIR, cli.py) before any of them starts, each
writes its samples there, and /metrics adds them up (prometheus_client's multiprocess mode). The
variable must be set before prometheus_client is first imported in a process: `serve` sets it
before it imports the app. Without it (tests, a server embedded in another program) each
process counts its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("ixserver_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "ixserver_request_duration_seconds", "From a request's arrival to its answer", ["method", "route"], buckets=FAST
)
BATCH_USE_CASES = Histogram(
    "ixserver_writer_batch_use_cases",
    "Use cases run as one batch (committed together; on PostgreSQL one commit per account)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
BATCH_SECONDS = Histogram(
    "ixserver_writer_batch_seconds", "Time a batch took, from its first statement to its commit", buckets=FAST
)
QUEUE_SECONDS = Histogram(
    "ixserver_writer_queue_seconds", "Time a use case waited in the writer's queue for its batch", buckets=FAST
)
RACES = Counter(
    "ixserver_writer_races_total", "Use cases run again after losing a race to another instance", ["sqlstate"]
)
ISSUED = Counter("ixserver_documents_issued_total", "Documents issued (finalized, or receipts of payments)", ["type"])
CACHE = Counter("ixserver_read_cache_total", "Reads answered from the read cache, or not", ["result"])
BODIES_PARSED_APART = Counter(
    "ixserver_request_bodies_parsed_apart_total", "Request bodies large enough to be parsed by the parser process"
)
ACCOUNT_WAITS = Counter(
    "ixserver_account_share_waits_total",
    "Requests that waited for their account's share of a server process",
    ["result"],
)


class _JobsCollector:
    def __init__(self, depth: dict[str, int]) -> None:
        self.depth = depth

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "ixserver_jobs", "Jobs of the outbox waiting or running, by status", labels=["status"]
        )
        for status in ("queued", "running"):
            family.add_metric([status], self.depth.get(status, 0))
        yield family


def exposition(jobs_depth: dict[str, int]) -> tuple[bytes, str]:
    """The body and content type of /metrics: every process's samples, and the jobs' depth."""
    if os.environ.get(MULTIPROC_DIR):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        from prometheus_client import REGISTRY as processes  # this process's own
    jobs = CollectorRegistry()
    jobs.register(_JobsCollector(jobs_depth))
    return generate_latest(processes) + generate_latest(jobs), CONTENT_TYPE_LATEST
