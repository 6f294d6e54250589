"""Run by the compat corpus tests in a subprocess: the official `logfire` SDK sends `_compat_data`'s
telemetry to `OTEL_EXPORTER_OTLP_ENDPOINT` (the backend under test), then prints one JSON line."""

from __future__ import annotations

import json
import sys
import time

import logfire
from _compat_data import (
    COUNTER_ROUNDS,
    DB_STATEMENTS,
    EXPLICIT_BOUNDS,
    FINISH_REASONS,
    GAUGE_ROUNDS,
    HISTOGRAM_VALUES,
    LLM_CALLS,
    MY_AMOUNT,
    ROUTES,
    STATUS,
    TOKEN_USAGE,
    UPDOWN_ROUNDS,
)
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
        service_name="compat",
        inspect_arguments=False,
        metrics=logfire.MetricsOptions(
            collect_in_spans=True,
            views=[
                View(
                    instrument_type=Histogram,
                    instrument_name="compat.explicit",
                    aggregation=ExplicitBucketHistogramAggregation(EXPLICIT_BOUNDS),
                ),
                # Logfire's own exporter makes histograms exponential; over plain OTLP a view does.
                View(
                    instrument_type=Histogram,
                    instrument_name="compat.latency",
                    aggregation=ExponentialBucketHistogramAggregation(),
                ),
            ],
        ),
    )
    tracer = trace.get_tracer("compat")
    # Spans with exact durations: start and end times given, a few minutes ago, one after another.
    clock = time.time_ns() - 300 * 10**9

    def span(name: str, seconds: float, attributes: dict[str, object]) -> None:
        nonlocal clock
        s = tracer.start_span(name, start_time=clock, attributes=attributes)  # type: ignore[arg-type]
        s.end(end_time=clock + round(seconds * 1e9))
        clock += 10**9

    for route, durations in ROUTES.items():
        method, path = route.split(" ", 1)
        for seconds in durations:
            attrs = {
                "http.route": path,
                "http.request.method": method,
                "http.response.status_code": STATUS[route],
            }
            span(route, seconds, attrs)
    for model, cost, tokens_in, tokens_out in LLM_CALLS:
        attrs = {
            "gen_ai.request.model": model,
            "operation.cost": cost,
            "gen_ai.usage.input_tokens": tokens_in,
            "gen_ai.usage.output_tokens": tokens_out,
            "cache.hit": model == "gpt-4o",
            "gen_ai.response.finish_reasons": FINISH_REASONS[model],
        }
        span(f"chat {model}", 1.0, attrs)
    for statement, durations in DB_STATEMENTS.items():
        for seconds in durations:
            span(statement.split(" ", 1)[0], seconds, {"db.statement": statement})

    # Metrics in spans (docs/reference/advanced/metrics-in-spans.md).
    my_amount = logfire.metric_counter("my_amount")
    with logfire.span("doing stuff"):
        for amount in MY_AMOUNT:
            my_amount.add(amount)
    usage = logfire.metric_counter("gen_ai.client.token.usage")
    with logfire.span("llm run"):
        for token_type, amounts in TOKEN_USAGE.items():
            for amount in amounts:
                usage.add(amount, {"gen_ai.token.type": token_type})

    # One tag as a plain string, on a span and on a log (OpenTelemetry SDKs send a single tag like this).
    with tracer.start_as_current_span("single tag span", attributes={"logfire.tags": "single"}):
        pass
    get_logger_provider().get_logger("compat-logs").emit(
        LogRecord(
            body="single tag log", severity_number=SeverityNumber.INFO, attributes={"logfire.tags": "single"}
        )
    )
    logfire.info("listed tags", _tags=["a", "b"])

    counter = logfire.metric_counter("compat.orders", unit="{order}")
    updown = logfire.metric_up_down_counter("compat.queue", unit="{job}")
    gauge = logfire.metric_gauge("compat.temperature", unit="Cel")
    exponential = logfire.metric_histogram("compat.latency", unit="ms")
    explicit = logfire.metric_histogram("compat.explicit", unit="ms")
    for value in HISTOGRAM_VALUES:
        exponential.record(value)
        explicit.record(value)
    for adds, moves, reading in zip(COUNTER_ROUNDS, UPDOWN_ROUNDS, GAUGE_ROUNDS, strict=True):
        for amount in adds:
            counter.add(amount)
        for amount in moves:
            updown.add(amount)
        gauge.set(reading)
        logfire.force_flush()  # one export round: one data point per series
        time.sleep(0.05)
    print(json.dumps({"sent": True}), flush=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
