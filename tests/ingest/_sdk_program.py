"""Run by the ingest tests in a subprocess: real code instrumented by the official `logfire` SDK.

The SDK sends to `OTEL_EXPORTER_OTLP_ENDPOINT` (the backend under test) with `send_to_logfire=False`.
After `logfire.force_flush()` returns, the program prints one JSON line with the ids the tests look for.
"""

from __future__ import annotations

import json
import logging
import sys

import logfire
from opentelemetry import trace
from opentelemetry._logs import LogRecord, SeverityNumber, get_logger_provider
from opentelemetry.sdk.metrics import Histogram
from opentelemetry.sdk.metrics.view import (
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
    View,
)


def main() -> None:
    logfire.configure(
        send_to_logfire=False,
        console=False,
        service_name="ingest-test",
        service_version="3.2.1",
        environment="qa",
        inspect_arguments=False,
        metrics=logfire.MetricsOptions(
            views=[
                # Logfire makes every histogram exponential; one explicit-bucket histogram covers the other kind.
                View(
                    instrument_type=Histogram,
                    instrument_name="explicit.*",
                    aggregation=ExplicitBucketHistogramAggregation([10, 100, 1000]),
                ),
                View(
                    instrument_type=Histogram,
                    instrument_name="latency.*",
                    aggregation=ExponentialBucketHistogramAggregation(),
                ),
            ]
        ),
    )
    ids: dict[str, str] = {}

    def remember(name: str, span: logfire.LogfireSpan) -> None:
        ctx = span.get_span_context()
        assert ctx is not None
        ids[name] = format(ctx.span_id, "016x")
        ids[name + "_trace"] = format(ctx.trace_id, "032x")

    with logfire.span(
        "checkout {cart_id}", cart_id=42, items={"sku": "A1", "qty": [1, 2]}, _tags=["shop", "t1"]
    ) as root:
        remember("root", root)
        for level in ("trace", "debug", "info", "notice", "warn", "error", "fatal"):
            logfire.log(level, "level {name} reached", {"name": level})  # type: ignore[arg-type]
        try:
            raise KeyError("missing-key")
        except KeyError:
            logfire.exception("lookup failed for {key}", key="missing-key")

    try:
        with logfire.span("failing step") as failing:
            remember("failing", failing)
            raise ValueError("bad value 7")
    except ValueError:
        pass

    with logfire.span(
        "GET /users/{id}",
        **{
            "http.request.method": "GET",
            "http.route": "/users/{id}",
            "http.response.status_code": 404,
            "url.full": "https://shop.test/users/5?verbose=1",
            "url.path": "/users/5",
            "url.query": "verbose=1",
        },
    ) as new_http:
        remember("new_http", new_http)
    with logfire.span(
        "old semconv",
        **{
            "http.method": "POST",
            "http.status_code": 201,
            "http.url": "http://legacy.test/orders?x=1",
            "http.target": "/orders?x=1",
        },
    ) as old_http:
        remember("old_http", old_http)

    # Plain OpenTelemetry spans: no logfire.* attributes, so span_name/message come from the span name.
    tracer = trace.get_tracer("plain-otel", "9.9")
    with tracer.start_as_current_span("plain parent") as parent:
        ids["plain_parent"] = format(parent.get_span_context().span_id, "016x")
        link = trace.Link(parent.get_span_context(), {"why": "retry"})
        with tracer.start_as_current_span("plain child", links=[link], attributes={"k": "v"}) as child:
            ids["plain_child"] = format(child.get_span_context().span_id, "016x")
            child.add_event("cache miss", {"key": "user:5"})
            child.set_status(trace.Status(trace.StatusCode.ERROR, "upstream failed"))

    logging.basicConfig(handlers=[logfire.LogfireLoggingHandler()], level=logging.INFO, force=True)
    for noisy in ("urllib3", "requests", "opentelemetry"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("app.stdlib").warning("disk %s is %d%% full", "/data", 91)

    otel_logger = get_logger_provider().get_logger("plain-otel-logs", "1.0")
    otel_logger.emit(
        LogRecord(
            body="payment provider answered slowly",
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            attributes={"provider": "acme", "ms": 812},
        )
    )

    counter = logfire.metric_counter("orders.placed", unit="1", description="orders")
    counter.add(3, {"plan": "pro"})
    updown = logfire.metric_up_down_counter("queue.size", unit="{job}")
    updown.add(5)
    updown.add(-2)
    gauge = logfire.metric_gauge("temperature", unit="Cel")
    gauge.set(21.5)
    exp_hist = logfire.metric_histogram("latency.exp", unit="ms")
    explicit = logfire.metric_histogram("explicit.size", unit="By")
    for value in (5, 50, 500, 5000):
        exp_hist.record(value)
        explicit.record(value)

    logfire.force_flush()
    print(json.dumps(ids), flush=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
