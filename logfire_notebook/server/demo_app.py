"""The instrumented code the demo runs: one process per (service, environment), telemetry via the SDK.

`python -m logfire_notebook.server.demo_app --service web-api --environment production --records N
--start-ns A --end-ns B` configures the official `logfire` SDK (`send_to_logfire=False`; the OTLP endpoint
comes from `OTEL_EXPORTER_OTLP_ENDPOINT`) and runs real code until it has made about N records:

- `web-api`: a Starlette app instrumented by `logfire.instrument_asgi` (spans named by route template),
  whose checkout calls the `inventory` service (a second instrumented app with its own OTel resource, so
  its spans carry `service_name = 'inventory'`; over HTTP, the W3C `traceparent` header joins its spans to
  the checkout's trace: a lock and update per SKU, and now and then a lock timeout deep inside that fails
  the order with 503), called through an httpx client
  instrumented by `logfire.instrument_httpx` (server and client spans, routes, status codes, 4xx/5xx, an
  exception handler), with logs from the handlers.
- `agent`: PydanticAI agents on a subclass of its built-in `TestModel` (no network) instrumented by
  `logfire.instrument_pydantic_ai`, with tools, model names and token usage. Each model request takes
  model-dependent time inside its `chat` span (a few slow outliers, rare timeouts); the model sometimes asks
  for an unknown order, so `lookup_order` raises `ModelRetry` (an `execute_tool` span with ERROR status and
  the exception; twice in a row ends the run), and rarely the order service fails outright.
- `worker`: background jobs with manual spans, logs at every level, stdlib logging, retried exceptions, and plain
  OpenTelemetry log records (an audit line per email, a logfmt line per finished job) that LogQL reads too.

Every service also records counters and histograms. Time is virtual: the SDK's `ns_timestamp_generator`
and the metrics SDK read a clock that walks from `start-ns` to `end-ns` (a 7-day window) with a daily
rhythm, and handlers advance it by simulated latencies, so durations look real and the data spreads over
the window although the process runs for seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import math
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from logfire_notebook.server.parent import when_parent_gone

__all__ = ["VirtualClock", "main"]

# Counts records made, so a worker stops at its budget.
_made = 0
_RNG = random.Random(7)
# What every service of this process is configured with (all but its name), and the services a process runs
# besides its own (web-api's inventory), each a `logfire.configure(local=True)` instance with its own resource.
_CONFIG: dict[str, Any] = {}
_SIBLINGS: list[Any] = []


def _sibling(service: str) -> Any:
    """A second service in this process: its own resource, tracer, meter and exporters, the same clock."""
    import logfire

    instance = logfire.configure(local=True, service_name=service, **_CONFIG)
    _SIBLINGS.append(instance)
    return instance


class VirtualClock:
    """The demo's now: nanoseconds that only move when told, with a tiny step per reading for ordering."""

    def __init__(self, start_ns: int) -> None:
        self.now = start_ns

    def __call__(self) -> int:
        self.now += 1_000
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1e9)


def _use_clock_for_metrics(clock: VirtualClock) -> None:
    """Point the metrics SDK's timestamps at the virtual clock (its deadlines keep real time)."""
    from opentelemetry.sdk.metrics._internal import _view_instrument_match, instrument, metric_reader_storage

    for module in (instrument, metric_reader_storage, _view_instrument_match):
        module.time_ns = clock  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------------------
# web-api: Starlette server + httpx client


def _web_api(clock: VirtualClock) -> Callable[[], Awaitable[None]]:
    import httpx
    import logfire
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Match, Route

    log = logging.getLogger("web_api")
    latency = logfire.metric_histogram("app.db.query_duration", unit="ms", description="database time")
    orders_total = logfire.metric_counter("app.orders.created", unit="1", description="orders placed")
    cart_value = logfire.metric_histogram("app.cart.value", unit="USD", description="cart value at checkout")

    def db(ms: float) -> None:
        clock.advance(ms / 1000)
        latency.record(ms, {"db.system": "postgresql"})

    async def get_user(request: Request) -> JSONResponse:
        user_id = int(request.path_params["user_id"])
        with logfire.span("SELECT users WHERE id = {user_id}", user_id=user_id, _tags=["db"]):
            db(_RNG.lognormvariate(1.2, 0.6))
        if user_id % 17 == 0:
            logfire.warn("user {user_id} not found", user_id=user_id)
            raise HTTPException(404, "user not found")
        return JSONResponse({"id": user_id, "name": f"user-{user_id}", "plan": _RNG.choice(["free", "pro"])})

    async def list_orders(request: Request) -> JSONResponse:
        limit = int(request.query_params.get("limit", "20"))
        with logfire.span("list orders", limit=limit):
            db(_RNG.lognormvariate(2.0, 0.7))
        return JSONResponse({"orders": list(range(min(limit, 5)))})

    async def create_order(request: Request) -> JSONResponse:
        body = await request.json()
        with logfire.span("checkout {items} items", items=len(body["items"]), customer=body["customer"]):
            db(_RNG.lognormvariate(2.5, 0.5))
            value = round(sum(item["price"] for item in body["items"]), 2)
            cart_value.record(value)
            if value > 450:
                logfire.error("payment declined for {customer}", customer=body["customer"], amount=value)
                return JSONResponse({"error": "payment declined"}, status_code=402)
            # Fan out: the inventory service reserves the stock over HTTP, with its own database calls.
            reserved = await inventory_client.post("/reserve", json={"items": body["items"]})
            if reserved.status_code >= 500:
                logfire.error("inventory unavailable for {customer}", customer=body["customer"])
                return JSONResponse({"error": "inventory unavailable"}, status_code=503)
            orders_total.add(1, {"plan": body["plan"]})
            logfire.info("order placed for {customer}", customer=body["customer"], amount=value)
        return JSONResponse({"ok": True, "amount": value}, status_code=201)

    async def search(request: Request) -> JSONResponse:
        q = request.query_params.get("q", "")
        with logfire.span("search products for {q}", q=q):
            clock.advance(_RNG.lognormvariate(3.0, 0.8) / 1000)
            if "'" in q:
                # A real bug the demo can find: the query is pasted into SQL.
                raise ValueError(f"unterminated quoted string in search query: {q!r}")
        log.debug("search for %s", q)
        return JSONResponse({"results": [q] * 3})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    # The inventory service is its own service: its own OTel resource (service_name = 'inventory'), tracer,
    # meter and exporters; the checkout reaches it over HTTP, and the traceparent header (injected by the
    # instrumented httpx client, read by its ASGI instrumentation) makes its spans part of the same trace.
    inventory = _sibling("inventory")
    stock_latency = inventory.metric_histogram(
        "app.db.query_duration", unit="ms", description="database time"
    )

    def stock_db(ms: float) -> None:
        clock.advance(ms / 1000)
        stock_latency.record(ms, {"db.system": "postgresql"})

    async def reserve(request: Request) -> JSONResponse:
        """The inventory service: one row lock and update per SKU; rarely a lock times out deep inside."""
        body = await request.json()
        skus = sorted({item["sku"] for item in body["items"]})
        with inventory.span("reserve stock for {count} SKUs", count=len(skus), _tags=["inventory"]):
            for sku in skus:
                with inventory.span("lock and update {sku}", sku=sku):
                    with inventory.span("SELECT stock FOR UPDATE WHERE sku = {sku}", sku=sku, _tags=["db"]):
                        stock_db(_RNG.lognormvariate(1.0, 0.5))
                        if _RNG.random() < 0.015:
                            clock.advance(2)
                            raise StockLockTimeout(f"could not lock the stock row of {sku} within 2s")
                    with inventory.span("UPDATE stock SET reserved = reserved + 1", sku=sku, _tags=["db"]):
                        stock_db(_RNG.lognormvariate(0.8, 0.4))
        return JSONResponse({"reserved": skus})

    inventory_app: Any = inventory.instrument_asgi(
        cast(Any, Starlette(routes=[Route("/reserve", reserve, methods=["POST"])])),
        # The traceparent it was called with shows in its server span's attributes.
        http_capture_headers_server_request=["traceparent"],
        default_span_details=lambda scope: (f"{scope['method']} /reserve", {"http.route": "/reserve"}),
    )
    inventory_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_over_the_network(inventory_app), raise_app_exceptions=False),
        base_url="http://inventory.internal",
    )
    logfire.instrument_httpx(inventory_client)

    routes = [
        Route("/users/{user_id:int}", get_user),
        Route("/orders", list_orders),
        Route("/orders", create_order, methods=["POST"]),
        Route("/search", search),
        Route("/health", health),
    ]
    app = Starlette(routes=routes)

    def span_details(scope: Any) -> tuple[str, dict[str, Any]]:
        # Name server spans by route template, as Starlette's own instrumentation does.
        for route in routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return f"{scope['method']} {route.path}", {"http.route": route.path}
        return scope["method"], {}

    # Starlette's and logfire's ASGI type aliases differ only in Mapping vs dict.
    asgi_app: Any = logfire.instrument_asgi(cast(Any, app), default_span_details=span_details)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=asgi_app, raise_app_exceptions=False),
        base_url="http://shop.internal",
    )
    logfire.instrument_httpx(client)

    async def one_request() -> None:
        pick = _RNG.random()
        if pick < 0.35:
            await client.get(f"/users/{_RNG.randint(1, 5000)}")
        elif pick < 0.55:
            await client.get("/orders", params={"limit": _RNG.choice([10, 20, 50])})
        elif pick < 0.75:
            items = [{"sku": f"sku-{_RNG.randint(1, 300)}", "price": round(_RNG.uniform(3, 120), 2)}]
            items *= _RNG.randint(1, 5)
            customer = f"customer-{_RNG.randint(1, 900)}"
            await client.post("/orders", json={"items": items, "customer": customer, "plan": "pro"})
        elif pick < 0.95:
            term = _RNG.choice(["shoes", "hats", "o'neil", "socks", "bags", "belts"])
            await client.get("/search", params={"q": term})
        else:
            await client.get("/health")

    return one_request


def _over_the_network(app: Any) -> Any:
    """An ASGI app called in-process as if over the network: in an empty OpenTelemetry context. Otherwise its
    instrumentation sees the caller's span as current and hangs an INTERNAL span under it; this way it makes
    a SERVER span whose parent comes from the request's `traceparent` header, as in another process."""
    from opentelemetry import context as otel_context

    async def called(scope: Any, receive: Any, send: Any) -> None:
        token = otel_context.attach(otel_context.Context())
        try:
            await app(scope, receive, send)
        finally:
            otel_context.detach(token)

    return called


# ---------------------------------------------------------------------------------------------------------
# agent: PydanticAI on TestModel

# Seconds a model takes to its first token (median and lognormal spread), and seconds per output token.
_MODEL_LATENCY = {
    "gpt-4o": (0.6, 0.35, 0.0125),
    "claude-sonnet-4": (0.9, 0.3, 0.016),
    "gemini-2.5-flash": (0.35, 0.4, 0.005),
}
# Orders the shop knows; the model sometimes makes up or mistypes an order number.
_KNOWN_ORDERS = range(1000, 9000)


class OrderServiceError(ConnectionError):
    """The order service did not answer."""


OrderServiceError.__module__ = "shop.orders"


def _agent(clock: VirtualClock) -> Callable[[], Awaitable[None]]:
    import logfire
    from pydantic_ai import Agent, ModelRetry
    from pydantic_ai.exceptions import UnexpectedModelBehavior
    from pydantic_ai.messages import ModelMessage, ModelResponse
    from pydantic_ai.models import ModelRequestParameters
    from pydantic_ai.models.test import TestModel
    from pydantic_ai.settings import ModelSettings
    from pydantic_ai.tools import ToolDefinition

    class SimulatedModel(TestModel):
        """PydanticAI's TestModel, but a request takes model-dependent virtual time, inside the `chat` span,
        and the tool arguments vary as a real model's would."""

        async def request(
            self,
            messages: list[ModelMessage],
            model_settings: ModelSettings | None,
            model_request_parameters: ModelRequestParameters,
        ) -> ModelResponse:
            median, sigma, per_token = _MODEL_LATENCY[self.model_name]
            if _RNG.random() < 0.01:
                clock.advance(30)
                raise TimeoutError(f"model {self.model_name} did not answer within 30s")
            response = await super().request(messages, model_settings, model_request_parameters)
            # TestModel's answers are a few tokens; a real model writes a short tool call or a longer answer.
            calls_tools = any(part.part_kind == "tool-call" for part in response.parts)
            tokens = _RNG.randint(15, 60) if calls_tools else _RNG.randint(60, 250)
            seconds = _RNG.lognormvariate(math.log(median), sigma) + per_token * tokens
            if _RNG.random() < 0.02:
                seconds *= _RNG.uniform(3, 8)  # a provider's bad minute: the slow outliers
            clock.advance(seconds)
            return response

        def gen_tool_args(self, tool_def: ToolDefinition) -> Any:
            if tool_def.name == "lookup_order":
                known = _RNG.random() < 0.85
                return {"order_id": _RNG.choice(_KNOWN_ORDERS) if known else _RNG.randint(10_000, 99_999)}
            if tool_def.name == "refund_policy":
                return {"days": _RNG.randint(1, 60)}
            return super().gen_tool_args(tool_def)

    logfire.instrument_pydantic_ai()
    models = [
        SimulatedModel(model_name=name, seed=i)
        for i, name in enumerate(["gpt-4o", "claude-sonnet-4", "gemini-2.5-flash"])
    ]
    support = Agent(
        models[0],
        name="support_agent",
        instructions="Answer customer questions about their orders. Look orders up before answering.",
    )

    @support.tool_plain
    def lookup_order(order_id: int) -> str:
        clock.advance(_RNG.lognormvariate(3.5, 0.4) / 1000)
        if order_id not in _KNOWN_ORDERS:
            # The model sees this and tries again, as with a real LLM that misread the order number.
            raise ModelRetry(f"There is no order {order_id}; check the order number and try again.")
        if _RNG.random() < 0.005:
            clock.advance(5)
            raise OrderServiceError("order service did not answer within 5s")
        return f"order {order_id}: shipped"

    @support.tool_plain
    def refund_policy(days: int) -> str:
        return "Refunds are possible within 30 days." if days <= 30 else "No refund after 30 days."

    summarizer = Agent(models[1], name="summarizer", instructions="Summarize the ticket in one sentence.")
    runs = logfire.metric_counter("agent.runs", unit="1", description="agent runs by outcome")
    questions = [
        "Where is my order 1234?",
        "Can I get a refund after 40 days?",
        "My package arrived damaged, what now?",
        "How do I change my shipping address?",
        "Why was I charged twice?",
    ]

    async def one_run() -> None:
        question = _RNG.choice(questions)
        agent = support if _RNG.random() < 0.7 else summarizer
        model = _RNG.choice(models)
        with logfire.span(
            "handle ticket {ticket_id}", ticket_id=_RNG.randint(10_000, 99_999), question=question
        ):
            try:
                result = await agent.run(question, model=model)
                runs.add(1, {"agent": agent.name or "agent", "outcome": "ok"})
                logfire.info(
                    "answered with {chars} chars",
                    chars=len(str(result.output)),
                    gen_ai={"system": _PROVIDERS[model.model_name], "model": model.model_name},
                )
            except (TimeoutError, OrderServiceError, UnexpectedModelBehavior) as exc:
                outcome = "timeout" if isinstance(exc, TimeoutError) else "error"
                runs.add(1, {"agent": agent.name or "agent", "outcome": outcome})
                logfire.exception("agent run failed")

    return one_run


# ---------------------------------------------------------------------------------------------------------
# worker: background jobs


def _worker(clock: VirtualClock) -> Callable[[], Awaitable[None]]:
    import logfire

    log = logging.getLogger("worker.jobs")
    processed = logfire.metric_counter("jobs.processed", unit="1", description="jobs finished")
    queue_depth = logfire.metric_gauge("jobs.queue_depth", unit="1", description="jobs waiting")
    job_seconds = logfire.metric_histogram("jobs.duration", unit="s", description="job run time")
    kinds = ["send_email", "resize_image", "sync_inventory", "nightly_report"]
    # Plain OpenTelemetry log records (not spans), as other SDKs and collectors send them.
    from opentelemetry._logs import LogRecord, SeverityNumber, get_logger_provider

    audit = get_logger_provider().get_logger("shop.audit", "1.0")
    runner = get_logger_provider().get_logger("shop.jobs", "1.0")

    def job_log(kind: str, job_id: int, attempts: int, duration_ns: int) -> None:
        # One logfmt line per job, as a log shipper would send it: what `| logfmt` in LogQL reads
        # (examples/loki_quickstart.ipynb). `attempts` 0: the job gave up.
        level, severity = (
            ("info", SeverityNumber.INFO)
            if attempts == 1
            else ("warn", SeverityNumber.WARN)
            if attempts
            else ("error", SeverityNumber.ERROR)
        )
        outcome = "gave_up" if not attempts else "retried" if attempts > 1 else "ok"
        runner.emit(
            LogRecord(
                timestamp=clock(),
                body=(
                    f'level={level} msg="job finished" kind={kind} job_id={job_id} '
                    f"attempts={attempts or 3} outcome={outcome} duration_ms={duration_ns // 1_000_000}"
                ),
                severity_number=severity,
                severity_text=level.upper(),
            )
        )

    async def one_job() -> None:
        kind = _RNG.choice(kinds)
        job_id = _RNG.randint(1, 10**6)
        started = clock.now
        with logfire.span("job {kind}", kind=kind, job_id=job_id, _tags=["job", kind]):
            logfire.trace("dequeued job {job_id}", job_id=job_id)
            logfire.debug("payload size {size} bytes", size=_RNG.randint(100, 90_000))
            for attempt in range(1, 4):
                clock.advance(_RNG.lognormvariate(-1.0, 0.8))
                try:
                    with logfire.span("attempt {attempt}", attempt=attempt):
                        if kind == "sync_inventory" and _RNG.random() < 0.25:
                            raise InventoryMismatch(
                                f"sku-{_RNG.randint(1, 300)} count differs by {_RNG.randint(1, 9)}"
                            )
                    break
                except InventoryMismatch:
                    log.warning("retrying %s (attempt %d)", kind, attempt)
            else:
                logfire.error("giving up on job {job_id}", job_id=job_id)
                attempt = 0
            job_log(kind, job_id, attempt, clock.now - started)
            if kind == "nightly_report":
                logfire.notice("report ready: {rows} rows", rows=_RNG.randint(1_000, 50_000))
            if _RNG.random() < 0.002:
                logfire.fatal("worker lost its database connection")
            if kind == "send_email":
                audit.emit(
                    LogRecord(
                        timestamp=clock(),
                        body=f"email sent to customer-{_RNG.randint(1, 900)}",
                        severity_number=SeverityNumber.INFO,
                        severity_text="INFO",
                        attributes={"email.template": _RNG.choice(["receipt", "shipping", "reset"])},
                    )
                )
        processed.add(1, {"kind": kind})
        job_seconds.record((clock.now - started) / 1e9, {"kind": kind})
        queue_depth.set(_RNG.randint(0, 40))

    return one_job


_PROVIDERS = {"gpt-4o": "openai", "claude-sonnet-4": "anthropic", "gemini-2.5-flash": "google-gla"}


class InventoryMismatch(RuntimeError):
    """The stock count of a SKU differs between the warehouse and the shop."""


InventoryMismatch.__module__ = "shop.inventory"


class StockLockTimeout(TimeoutError):
    """The inventory service could not lock a stock row in time."""


StockLockTimeout.__module__ = "shop.inventory"

SERVICES: dict[str, Callable[[VirtualClock], Callable[[], Awaitable[None]]]] = {
    "web-api": _web_api,
    "agent": _agent,
    "worker": _worker,
}


# ---------------------------------------------------------------------------------------------------------


class _MetricsFlusher:
    """Collects and exports metrics on a thread, so the services never wait for the backend's commit."""

    def __init__(self, meter_providers: list[Any]) -> None:
        self._meter_providers = meter_providers
        self._wanted = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="demo-metrics", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wanted.set()

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            for provider in self._meter_providers:
                provider.force_flush()
            if self._stopping:
                return

    def stop(self) -> None:
        self._stopping = True
        self._wanted.set()
        self._thread.join()


def _activity(ns: int) -> float:
    """Relative traffic at a time of day: busy afternoons, quiet nights (UTC)."""
    hour = (ns / 3.6e12) % 24
    return 0.25 + math.sin(math.pi * max(0.0, hour - 6) / 18) ** 2


# Gaps of mean/activity spread the units in proportion to activity while keeping the planned pace.
_MEAN_ACTIVITY = sum(_activity(int(m * 6e10)) for m in range(24 * 60)) / (24 * 60)


def _metric_views() -> list[Any]:
    """Logfire's default views, with explicit buckets for the app's latency histograms (both kinds show)."""
    from logfire import MetricsOptions
    from opentelemetry.sdk.metrics import Histogram
    from opentelemetry.sdk.metrics.view import (
        ExplicitBucketHistogramAggregation,
        ExponentialBucketHistogramAggregation,
        View,
    )

    drop_sdk, _all_exponential, *rest = MetricsOptions.DEFAULT_VIEWS
    explicit = ExplicitBucketHistogramAggregation([1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500])
    exponential = [
        View(
            instrument_type=Histogram,
            instrument_name=pattern,
            aggregation=ExponentialBucketHistogramAggregation(),
        )
        for pattern in ("http.*", "gen_ai.*", "app.cart.*")
    ]
    return [
        drop_sdk,
        View(instrument_type=Histogram, instrument_name="app.db.*", aggregation=explicit),
        View(instrument_type=Histogram, instrument_name="jobs.*", aggregation=explicit),
        *exponential,
        *rest,
    ]


async def _run(args: argparse.Namespace) -> int:
    import linecache

    import logfire

    # Every recorded exception formats its traceback, and that re-stats every source file Python has
    # cached; on a slow file system that stalls the demo. Its sources do not change while it runs.
    linecache.checkcache = lambda filename=None: None
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

    clock = VirtualClock(args.start_ns)
    _use_clock_for_metrics(clock)

    class Counter(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            global _made
            _made += 1

    _CONFIG.update(
        send_to_logfire=False,
        metrics=logfire.MetricsOptions(views=_metric_views()),
        console=False,
        service_version=args.version,
        environment=args.environment,
        additional_span_processors=[Counter()],
        advanced=logfire.AdvancedOptions(ns_timestamp_generator=clock),
        inspect_arguments=False,
        distributed_tracing=True,  # the services trust each other's traceparent (no warning on extracting it)
    )
    logfire.configure(service_name=args.service, **_CONFIG)
    logging.basicConfig(handlers=[logfire.LogfireLoggingHandler()], level=logging.DEBUG, force=True)
    # The HTTP client of the OTLP exporter logs every request at DEBUG; keep that out of the demo data.
    for noisy in ("urllib3", "httpx", "httpcore", "opentelemetry"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    unit = SERVICES[args.service](clock)
    instances = [logfire.DEFAULT_LOGFIRE_INSTANCE, *_SIBLINGS]
    flusher = _MetricsFlusher([instance.config.get_meter_provider() for instance in instances])

    flush_every = 2 * 3600 * 10**9  # metrics are collected every 2 virtual hours
    next_flush = args.start_ns + flush_every
    done = 0
    while _made < args.records and clock.now < args.end_ns:
        await unit()
        done += 1
        per_unit = max(1.0, _made / done)
        # Walk the window so the budget runs out a little before it ends, denser at busy hours.
        remaining_units = max(1.0, (args.records - _made) / per_unit)
        gap = 0.97 * (args.end_ns - clock.now) / remaining_units * _MEAN_ACTIVITY / _activity(clock.now)
        clock.now = _next_start(clock.now, int(_RNG.expovariate(1.0) * max(gap, 0.0)), args.end_ns)
        if clock.now >= next_flush:
            flusher.request()
            next_flush = clock.now + flush_every
    print(f"{args.service}/{args.environment}: {_made} records", file=sys.stderr, flush=True)
    if args.live_per_minute > 0:
        with contextlib.suppress(asyncio.CancelledError):  # Ctrl-C: send what is queued, then stop
            await _live(unit, clock, flusher, args.live_per_minute, units=done)
    flusher.stop()
    for instance in instances:
        instance.force_flush()
    return 0


def _next_start(now: int, jump: int, end_ns: int) -> int:
    """Where the next unit starts: `jump` ahead, but a jump past the window's end lands somewhere in what is
    left of it, so the last units keep distinct, rising times instead of piling up on one instant."""
    if now + jump < end_ns:
        return now + jump
    return now + int(max(0, end_ns - now) * _RNG.random())


async def _live(
    unit: Callable[[], Awaitable[None]],
    clock: VirtualClock,
    flusher: _MetricsFlusher,
    per_minute: float,
    units: int,
) -> None:
    """Keep sending in real time, about `per_minute` records a minute (busier in the afternoon), until stopped.

    Each unit starts at the wall clock, or where the last one's simulated latencies left the virtual clock
    if that is later, so times never go backwards. `units`: how many units made the records so far."""
    last_flush = time.monotonic()
    while True:
        clock.now = max(clock.now, time.time_ns())
        await unit()
        units += 1
        per_unit = max(1.0, _made / units)
        mean_gap = 60.0 * per_unit / per_minute * _MEAN_ACTIVITY / _activity(time.time_ns())
        await asyncio.sleep(_RNG.expovariate(1.0) * mean_gap)
        if time.monotonic() - last_flush > 60:
            flusher.request()
            last_flush = time.monotonic()


def _leave_with_the_demo(demo: int) -> None:
    """The demo starts each service in a session of its own and stops it when it stops; a demo gone without
    doing so (SIGKILL, a crash) leaves the service sending to a backend that is gone too, for ever. So it
    leaves when its parent does (as the server's workers leave with the server). The demo names itself
    (`--demo-pid`): it may be gone before this process has started up."""
    # Not os._exit: logfire wraps it in a flush, which would wait on exports to the gone backend.
    when_parent_gone(demo, functools.partial(os.kill, os.getpid(), signal.SIGKILL))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--service", choices=sorted(SERVICES), required=True)
    parser.add_argument("--environment", default="production")
    parser.add_argument("--version", default="1.4.2")
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--start-ns", type=int, required=True)
    parser.add_argument("--end-ns", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--demo-pid",
        type=int,
        default=None,
        help="the demo's process id: leave once it is gone (default: the parent's)",
    )
    parser.add_argument(
        "--live-per-minute",
        type=float,
        default=0.0,
        help="after the window, keep making about this many records a minute in real time until stopped",
    )
    args = parser.parse_args(argv)
    _RNG.seed(args.seed)
    # `kill` (the demo stopping its services) ends the run like Ctrl-C, so what is queued still gets sent.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    _leave_with_the_demo(args.demo_pid or os.getppid())
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
