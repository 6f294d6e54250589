"""The standard dataset: deterministic, realistic telemetry for the integration tests.

About 3,000 `records` over the 7 days before `now` (a few dozen in the last two minutes) and a few thousand
`metrics` points, with every column filled the way Logfire fills it:

- four services (`api-gateway`, `checkout`, `worker`, `chat-agent`) in `production`, `staging`, `dev`
  and one with no environment;
- HTTP server spans with routes, methods, status codes and URLs, database and outgoing HTTP child spans;
- logs at every level (trace .. fatal), some made by `logfire.info` (attributes, `log_body` empty) and
  some by OpenTelemetry loggers (`log_body` set);
- exceptions with Python stack traces, `otel_events` and `ERROR` status;
- tags (`demo` on about a third of the records);
- gen_ai spans with flat OTel attributes (`gen_ai.system`) and logfire logs with a nested `gen_ai` object;
- pending spans (kind `pending_span`), which `records` must leave out;
- metrics of every type: gauge, sum (monotonic and not), histogram, exponential histogram.

`build(now)` returns the rows as Python dicts (the tests compute expected answers from them) and as Arrow
tables; `fill(store, dataset)` writes them through `Store`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from logfire_notebook._schema import METRICS, RECORDS, Column

LEVELS = {"trace": 1, "debug": 5, "info": 9, "notice": 10, "warn": 13, "error": 17, "fatal": 21}
SERVICES = {
    # name: (environment, version, namespace)
    "api-gateway": ("production", "2.3.1", "shop"),
    "checkout": ("production", "1.9.0", "shop"),
    "worker": ("staging", "0.14.2", "shop"),
    "chat-agent": ("dev", "0.3.0", None),
    "cron": (None, "1.0.0", None),
}
ROUTES = [
    ("GET", "/users/{user_id}", "/users/{}", ""),
    ("GET", "/products", "/products", "page=2&per_page=50"),
    ("POST", "/orders", "/orders", ""),
    ("GET", "/orders/{order_id}", "/orders/{}", ""),
    ("DELETE", "/carts/{cart_id}", "/carts/{}", ""),
    ("GET", "/health", "/health", ""),
]
EXCEPTIONS = [
    ("ValueError", "invalid literal for int() with base 10: 'abc'", "parse_user_id"),
    ("KeyError", "'order_id'", "load_order"),
    ("TimeoutError", "database query timed out after 5.0 seconds", "run_query"),
    ("httpx.ConnectError", "[Errno 111] Connection refused", "call_payments"),
]
METRIC_DEFS = [
    # name, type, unit, description, temporality, monotonic
    ("system.cpu.utilization", "gauge", "1", "CPU usage of the host", None, None),
    ("process.runtime.cpython.memory", "gauge", "By", "Resident memory of the process", None, None),
    ("http.server.active_requests", "sum", "{request}", "Requests in flight", "cumulative", False),
    ("app.orders.created", "sum", "{order}", "Orders created", "delta", True),
    ("http.server.duration", "histogram", "ms", "Duration of HTTP server requests", "delta", None),
    ("gen_ai.client.token.usage", "histogram", "{token}", "Tokens used by LLM calls", "delta", None),
    ("db.client.operation.duration", "exponential_histogram", "s", "Database operation time", "delta", None),
]
HISTOGRAM_BOUNDS = [0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 1000.0]


@dataclass
class Dataset:
    now: datetime
    records: list[dict[str, Any]] = field(default_factory=list)
    """Every record row, pending spans included (the `records` table leaves those out)."""
    metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def visible_records(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] != "pending_span"]

    def records_table(self) -> pa.Table:
        return _table(self.records, RECORDS)

    def metrics_table(self) -> pa.Table:
        return _table(self.metrics, METRICS)


_ARROW = {
    "TEXT": pa.string(),
    "TIMESTAMP WITH TIME ZONE": pa.timestamp("us", tz="UTC"),
    "DATE": pa.date32(),
    "DOUBLE PRECISION": pa.float64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
}


def arrow_type(column: Column) -> pa.DataType:
    base = _ARROW[column.pg_type.removesuffix("[]")]
    return pa.list_(base) if column.is_list else base


def _table(rows: list[dict[str, Any]], columns: tuple[Column, ...]) -> pa.Table:
    schema = pa.schema([pa.field(c.name, arrow_type(c)) for c in columns])
    return pa.Table.from_pylist(rows, schema=schema)


class _Gen:
    def __init__(self, now: datetime, seed: int) -> None:
        self.now = now
        self.rng = random.Random(seed)
        self.pid = {name: 1000 + i * 17 for i, name in enumerate(SERVICES)}
        self.instance = {name: f"{self.rng.getrandbits(128):032x}" for name in SERVICES}

    def hex(self, bits: int) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def base(self, service: str, start: datetime, end: datetime, scope: str) -> dict[str, Any]:
        env, version, namespace = SERVICES[service]
        resource = {
            "service.name": service,
            "service.version": version,
            "service.instance.id": self.instance[service],
            "process.pid": self.pid[service],
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.version": "1.38.0",
        }
        if env:
            resource["deployment.environment.name"] = env
        if namespace:
            resource["service.namespace"] = namespace
        return {
            "attributes": "{}",
            "attributes_json_schema": None,
            "created_at": end + timedelta(milliseconds=self.rng.randint(200, 3000)),
            "day": start.date(),
            "deployment_environment": env,
            "duration": (end - start).total_seconds(),
            "end_timestamp": end,
            "exception_message": None,
            "exception_stacktrace": None,
            "exception_type": None,
            "http_method": None,
            "http_response_status_code": None,
            "http_route": None,
            "is_exception": False,
            "kind": "span",
            "level": LEVELS["info"],
            "log_body": None,
            "message": "",
            "otel_events": "[]",
            "otel_links": "[]",
            "otel_resource_attributes": json.dumps(resource),
            "otel_scope_attributes": "{}",
            "otel_scope_name": scope,
            "otel_scope_version": "4.14.2" if scope.startswith("logfire") else "0.59b0",
            "otel_status_code": "UNSET",
            "otel_status_message": None,
            "parent_span_id": None,
            "process_pid": self.pid[service],
            "project_id": "00000000-0000-4000-8000-00000000a11c",
            "service_instance_id": self.instance[service],
            "service_name": service,
            "service_namespace": namespace,
            "service_version": version,
            "span_id": self.hex(64),
            "span_name": "",
            "start_timestamp": start,
            "tags": [],
            "telemetry_sdk_language": "python",
            "telemetry_sdk_name": "opentelemetry",
            "telemetry_sdk_version": "1.38.0",
            "trace_id": self.hex(128),
            "url_full": None,
            "url_path": None,
            "url_query": None,
        }

    def tags(self) -> list[str]:
        roll = self.rng.random()
        if roll < 0.3:
            return ["demo"]
        if roll < 0.4:
            return ["demo", "shop"]
        if roll < 0.5:
            return ["shop"]
        return []

    def pending(self, span: dict[str, Any]) -> dict[str, Any]:
        """What Logfire's SDK sends when a span starts: a zero-length record pointing at the real span."""
        p = dict(span)
        p.update(
            kind="pending_span",
            span_id=self.hex(64),
            parent_span_id=span["span_id"],
            end_timestamp=span["start_timestamp"],
            duration=None,
            created_at=span["start_timestamp"] + timedelta(milliseconds=150),
            otel_status_code="UNSET",
            otel_status_message=None,
            is_exception=False,
            exception_type=None,
            exception_message=None,
            exception_stacktrace=None,
            otel_events="[]",
        )
        return p

    def exception(self, rec: dict[str, Any], level: int = LEVELS["error"]) -> None:
        etype, emsg, func = self.rng.choice(EXCEPTIONS)
        stack = (
            "Traceback (most recent call last):\n"
            f'  File "/app/{rec["service_name"]}/handlers.py", line {self.rng.randint(20, 300)}, in handle\n'
            f"    result = {func}(request)\n"
            f'  File "/app/{rec["service_name"]}/core.py", line {self.rng.randint(10, 200)}, in {func}\n'
            "    raise error\n"
            f"{etype}: {emsg}\n"
        )
        event = {
            "name": "exception",
            "timestamp": rec["end_timestamp"].isoformat(),
            "attributes": {"exception.type": etype, "exception.message": emsg, "exception.stacktrace": stack},
        }
        rec.update(
            is_exception=True,
            exception_type=etype,
            exception_message=emsg,
            exception_stacktrace=stack,
            otel_events=json.dumps([event]),
            otel_status_code="ERROR",
            otel_status_message=f"{etype}: {emsg}",
            level=level,
        )

    def trace(self, start: datetime, out: list[dict[str, Any]]) -> None:
        service = self.rng.choice(["api-gateway", "api-gateway", "checkout", "worker"])
        method, route, path_tpl, query = self.rng.choice(ROUTES)
        path = path_tpl.format(self.rng.randint(1, 999)) if "{}" in path_tpl else path_tpl
        failed = self.rng.random() < 0.08
        status = (
            self.rng.choice([500, 503]) if failed else self.rng.choice([200, 200, 200, 201, 204, 404, 422])
        )
        total_ms = self.rng.lognormvariate(3.5, 0.8)
        end = start + timedelta(milliseconds=total_ms)
        root = self.base(service, start, end, "opentelemetry.instrumentation.fastapi")
        trace_id = root["trace_id"]
        url = f"https://{service}.example.com{path}" + (f"?{query}" if query else "")
        attributes = {
            "http.method": method,
            "http.request.method": method,
            "http.route": route,
            "http.response.status_code": status,
            "url.full": url,
            "url.path": path,
            "url.query": query or None,
            "http.scheme": "https",
        }
        root.update(
            span_name=f"{method} {route}",
            message=f"{method} {path}" + (f" ? {query}" if query else ""),
            attributes=json.dumps({k: v for k, v in attributes.items() if v is not None}),
            http_method=method,
            http_route=route,
            http_response_status_code=status,
            url_full=url,
            url_path=path,
            url_query=query or None,
            tags=self.tags(),
            otel_status_code="ERROR" if status >= 500 else "UNSET",
        )
        if failed:
            self.exception(root)
        elif status >= 400:
            root["level"] = LEVELS["warn"]
        out.append(root)
        if self.rng.random() < 0.4:
            out.append(self.pending(root))
        # A database call inside the request.
        db_start = start + timedelta(milliseconds=total_ms * 0.1)
        db_end = db_start + timedelta(milliseconds=total_ms * self.rng.uniform(0.2, 0.6))
        db = self.base(service, db_start, db_end, "opentelemetry.instrumentation.sqlalchemy")
        table = self.rng.choice(["users", "orders", "products", "carts"])
        db.update(
            trace_id=trace_id,
            parent_span_id=root["span_id"],
            span_name=f"SELECT {table}",
            message=f"SELECT {table}",
            attributes=json.dumps(
                {
                    "db.system": "postgresql",
                    "db.statement": f"SELECT * FROM {table} WHERE id = $1",
                    "db.name": "shop",
                }
            ),
            tags=root["tags"],
        )
        out.append(db)
        # A log line from the handler, made by logfire.info (message template in span_name).
        log_at = db_end + timedelta(milliseconds=1)
        log = self.base(service, log_at, log_at, "logfire")
        log.update(
            kind="log",
            trace_id=trace_id,
            parent_span_id=root["span_id"],
            span_name="handled {route} for user {user_id}",
            message=f"handled {route} for user {path.rsplit('/', 1)[-1]}",
            attributes=json.dumps(
                {"route": route, "user_id": path.rsplit("/", 1)[-1], "logfire.msg_template": "x"}
            ),
            attributes_json_schema=json.dumps({"type": "object", "properties": {"route": {}, "user_id": {}}}),
            level=LEVELS["debug"] if not failed else LEVELS["error"],
            duration=None,
            tags=root["tags"],
        )
        out.append(log)
        if service == "checkout" and method == "POST":
            call_start = db_end + timedelta(milliseconds=2)
            call_end = min(end, call_start + timedelta(milliseconds=total_ms * 0.2))
            call = self.base(service, call_start, call_end, "opentelemetry.instrumentation.httpx")
            call.update(
                trace_id=trace_id,
                parent_span_id=root["span_id"],
                span_name="POST",
                message="POST payments.example.com/charge",
                http_method="POST",
                http_response_status_code=502 if failed else 200,
                url_full="https://payments.example.com/charge",
                url_path="/charge",
                attributes=json.dumps(
                    {
                        "http.method": "POST",
                        "http.response.status_code": 502 if failed else 200,
                        "url.full": "https://payments.example.com/charge",
                    }
                ),
                tags=root["tags"],
            )
            out.append(call)

    def chat(self, start: datetime, out: list[dict[str, Any]]) -> None:
        model = self.rng.choice(["gpt-4o", "gpt-4o-mini", "claude-sonnet-4"])
        system = "anthropic" if model.startswith("claude") else "openai"
        input_tokens, output_tokens = self.rng.randint(50, 3000), self.rng.randint(10, 800)
        end = start + timedelta(milliseconds=self.rng.uniform(400, 6000))
        agent = self.base("chat-agent", start, end, "pydantic-ai")
        agent.update(
            span_name="agent run",
            message="support_agent run",
            attributes=json.dumps({"agent_name": "support_agent", "model_name": model}),
            tags=["demo", "llm"],
        )
        chat = self.base("chat-agent", start + timedelta(milliseconds=5), end, "pydantic-ai")
        chat.update(
            trace_id=agent["trace_id"],
            parent_span_id=agent["span_id"],
            span_name=f"chat {model}",
            message=f"chat {model}",
            attributes=json.dumps(
                {
                    "gen_ai.system": system,
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": model,
                    "gen_ai.usage.input_tokens": input_tokens,
                    "gen_ai.usage.output_tokens": output_tokens,
                }
            ),
            tags=["demo", "llm"],
        )
        # logfire.info('llm usage', gen_ai={...}) keeps the nested object, hence `attributes->'gen_ai'`.
        usage = self.base("chat-agent", end, end, "logfire")
        usage.update(
            kind="log",
            trace_id=agent["trace_id"],
            parent_span_id=agent["span_id"],
            span_name="llm usage {gen_ai}",
            message=f"llm usage {system} {model}",
            attributes=json.dumps(
                {
                    "gen_ai": {
                        "system": system,
                        "model": model,
                        "usage": {"input": input_tokens, "output": output_tokens},
                    }
                }
            ),
            attributes_json_schema=json.dumps(
                {"type": "object", "properties": {"gen_ai": {"type": "object"}}}
            ),
            duration=None,
            tags=["demo", "llm"],
        )
        out.extend([agent, chat, usage])
        if self.rng.random() < 0.5:
            out.append(self.pending(agent))

    def log(self, at: datetime, level_name: str, out: list[dict[str, Any]]) -> None:
        service = self.rng.choice(list(SERVICES))
        otel_logger = self.rng.random() < 0.4
        texts = {
            "trace": "cache lookup for key {key}",
            "debug": "loaded {count} rows",
            "info": "job {job} finished",
            "notice": "config reloaded from {path}",
            "warn": "slow query took {ms} ms",
            "error": "payment failed for order {order}",
            "fatal": "worker crashed, restarting",
        }
        template = texts[level_name]
        value = self.rng.randint(1, 500)
        message = template.split("{")[0] + str(value) + (template.split("}")[-1] if "{" in template else "")
        rec = self.base(service, at, at, "stdlib logging" if otel_logger else "logfire")
        rec.update(
            kind="log",
            level=LEVELS[level_name],
            span_name=message if otel_logger else template,
            message=message,
            log_body=message if otel_logger else None,
            attributes=json.dumps(
                {"code.function": "main", "code.lineno": value} if otel_logger else {"value": value}
            ),
            duration=None,
            tags=self.tags(),
        )
        if level_name in ("error", "fatal") and self.rng.random() < 0.6:
            self.exception(rec, level=LEVELS[level_name])
        out.append(rec)

    def metrics(self, out: list[dict[str, Any]]) -> None:
        points = [self.now - timedelta(minutes=30 * i) for i in range(1, 7 * 48)]
        points += [self.now - timedelta(seconds=s) for s in (30, 90)]
        for service in ("api-gateway", "checkout"):
            for name, mtype, unit, desc, temporality, monotonic in METRIC_DEFS:
                for at in points:
                    out.append(self.metric(service, name, mtype, unit, desc, temporality, monotonic, at))

    def metric(
        self,
        service: str,
        name: str,
        mtype: str,
        unit: str,
        desc: str,
        temporality: str | None,
        monotonic: bool | None,
        at: datetime,
    ) -> dict[str, Any]:
        base = self.base(service, at - timedelta(seconds=60), at, "opentelemetry.sdk.metrics")
        row: dict[str, Any] = {c.name: None for c in METRICS}
        for key in (
            "created_at",
            "deployment_environment",
            "otel_resource_attributes",
            "otel_scope_name",
            "otel_scope_version",
            "process_pid",
            "project_id",
            "service_instance_id",
            "service_name",
            "service_namespace",
            "service_version",
            "telemetry_sdk_language",
            "telemetry_sdk_name",
            "telemetry_sdk_version",
        ):
            row[key] = base[key]
        row.update(
            metric_name=name,
            metric_type=mtype,
            unit=unit,
            metric_description=desc,
            aggregation_temporality=temporality,
            is_monotonic=monotonic,
            recorded_timestamp=at,
            start_timestamp=at - timedelta(seconds=60) if mtype != "gauge" else None,
            day=at.date(),
            attributes=json.dumps({"http.route": "/orders"} if name.startswith("http") else {}),
            attributes_json_schema=json.dumps({"type": "object", "properties": {"http.route": {}}})
            if name.startswith("http")
            else None,
            otel_scope_attributes="{}",
            exemplars="[]",
        )
        if mtype in ("gauge", "sum"):
            row["scalar_value"] = round(
                self.rng.uniform(0, 1) if unit == "1" else self.rng.uniform(1, 500), 3
            )
        elif mtype == "histogram":
            counts = [self.rng.randint(0, 20) for _ in range(len(HISTOGRAM_BOUNDS) + 1)]
            row.update(
                histogram_bucket_counts=counts,
                histogram_explicit_bounds=HISTOGRAM_BOUNDS,
                histogram_count=sum(counts),
                histogram_sum=round(sum(counts) * self.rng.uniform(10, 90), 3),
                histogram_min=round(self.rng.uniform(0.5, 5), 3),
                histogram_max=round(self.rng.uniform(300, 1200), 3),
            )
        else:
            positive = [self.rng.randint(0, 9) for _ in range(6)]
            negative: list[int] = []
            row.update(
                exp_histogram_scale=3,
                exp_histogram_zero_count=self.rng.randint(0, 2),
                exp_histogram_zero_threshold=0.0,
                exp_histogram_positive_bucket_counts=positive,
                exp_histogram_positive_bucket_counts_offset=-4,
                exp_histogram_negative_bucket_counts=negative,
                exp_histogram_negative_bucket_counts_offset=0,
                histogram_count=sum(positive),
                histogram_sum=round(sum(positive) * 0.05, 4),
                histogram_min=0.001,
                histogram_max=0.9,
            )
        return row


def build(now: datetime | None = None, *, seed: int = 7) -> Dataset:
    """The standard dataset relative to `now` (the current time by default)."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    gen = _Gen(now, seed)
    ds = Dataset(now=now)
    week = 7 * 24 * 3600
    # Older activity: spread over the week, but not in the last 30 minutes, so that "the last 5 minutes"
    # holds only the recent burst below (tests bracket `now()` to allow for the session's age).
    for _ in range(520):
        gen.trace(now - timedelta(seconds=gen.rng.uniform(1800, week - 600)), ds.records)
    for _ in range(60):
        gen.chat(now - timedelta(seconds=gen.rng.uniform(1800, week - 600)), ds.records)
    for i in range(850):
        level = list(LEVELS)[i % len(LEVELS)]
        gen.log(now - timedelta(seconds=gen.rng.uniform(1800, week - 600)), level, ds.records)
    # The recent burst: 30 to 90 seconds ago (ends before `now`, so `now` as max_timestamp sees all).
    for _ in range(12):
        gen.trace(now - timedelta(seconds=gen.rng.uniform(30, 90)), ds.records)
    for level in LEVELS:
        gen.log(now - timedelta(seconds=gen.rng.uniform(30, 90)), level, ds.records)
    gen.metrics(ds.metrics)
    ds.records.sort(key=lambda r: r["start_timestamp"])
    return ds


def fill(store: Any, dataset: Dataset | None = None) -> Dataset:
    """Write the dataset through `Store` (built now if not given) and return it."""
    dataset = dataset or build()
    store.append_records(dataset.records_table())
    store.append_metrics(dataset.metrics_table())
    return dataset
