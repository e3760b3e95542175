"""Prometheus metrics, hand-written (text exposition format 0.0.4; no extra dependency).

Counters and one latency histogram per endpoint, kept per process (with several workers each one reports its own,
as with prometheus_client without multiprocess mode). ``MetricsMiddleware`` is a plain ASGI middleware: it times
every request and labels it with the route path (unknown paths count as ``other``, so labels stay bounded).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

HELP = {
    "nerloop_requests_total": ("counter", "HTTP requests by endpoint and status code."),
    "nerloop_request_duration_seconds": ("histogram", "HTTP request latency by endpoint."),
    "nerloop_predictions_total": ("counter", "Task predictions returned (one per task)."),
    "nerloop_regions_total": ("counter", "Regions (entities) returned."),
    "nerloop_regions_dropped_total": ("counter", "Entities left out because the project's config lacks their label."),
    "nerloop_tasks_skipped_total": ("counter", "Tasks answered with an empty result without running the model."),
    "nerloop_rounds_started_total": ("counter", "Training rounds started."),
    "nerloop_rounds_succeeded_total": ("counter", "Training rounds that exited 0."),
    "nerloop_rounds_failed_total": ("counter", "Training rounds that failed or could not start."),
    "nerloop_model_swaps_total": ("counter", "Models loaded and swapped in."),
    "nerloop_model_load_failures_total": ("counter", "Promoted rounds that could not be loaded."),
    "nerloop_webhook_events_total": ("counter", "Webhook events by action and outcome."),
    "nerloop_model_evictions_total": ("counter", "Projects' models dropped from memory (least recently used)."),
    "nerloop_label_mismatch_total": ("counter", "Predictions whose label config differs from the model's labels."),
}
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ENDPOINTS = frozenset({"/health", "/setup", "/predict", "/webhook", "/metrics"})

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels) + "}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._histograms: dict[Labels, list[float]] = {}  # per endpoint: bucket counts..., sum, count

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        with self._lock:
            self._counters[name][tuple(sorted(labels.items()))] += amount

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._counters[name].get(tuple(sorted(labels.items())), 0.0)

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        key = (("endpoint", endpoint),)
        with self._lock:
            self._counters["nerloop_requests_total"][(("endpoint", endpoint), ("status", str(status)))] += 1
            row = self._histograms.setdefault(key, [0.0] * (len(BUCKETS) + 2))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    row[i] += 1
            row[-2] += seconds
            row[-1] += 1

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, (kind, text) in HELP.items():
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
                if kind == "histogram":
                    for key, row in sorted(self._histograms.items()):
                        for bound, count in zip(BUCKETS, row, strict=False):
                            lines.append(f"{name}_bucket{_labels((*key, ('le', str(bound))))} {count:g}")
                        lines.append(f"{name}_bucket{_labels((*key, ('le', '+Inf')))} {row[-1]:g}")
                        lines.append(f"{name}_sum{_labels(key)} {row[-2]:.6f}")
                        lines.append(f"{name}_count{_labels(key)} {row[-1]:g}")
                    continue
                for labels, count in sorted(self._counters.get(name, {}).items()):
                    lines.append(f"{name}{_labels(labels)} {count:g}")
        return "\n".join(lines) + "\n"


def render_gauges(name: str, text: str, rows: list[tuple[dict[str, str], float]]) -> str:
    """One gauge with its HELP/TYPE lines (for values read at scrape time, e.g. each project's served round)."""
    lines = [f"# HELP {name} {text}", f"# TYPE {name} gauge"]
    lines += [f"{name}{_labels(tuple(sorted(labels.items())))} {value:g}" for labels, value in rows]
    return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Time each HTTP request and count it by endpoint and status code."""

    def __init__(self, app, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = {"code": 500}

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            path = scope.get("path", "")
            endpoint = path if path in ENDPOINTS else "other"
            self.metrics.observe(endpoint, status["code"], time.perf_counter() - began)
