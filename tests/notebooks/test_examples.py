"""examples/quickstart.ipynb, pydantic_ai_monitoring.ipynb and loki_quickstart.ipynb, run top to bottom in a real
ipykernel against a local backend filled by `logfire-notebook demo`; their results are compared with answers
computed here from the raw rows (the Loki tour's over SQL: the same logs)."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from _backend import Backend

from logfire_notebook import LogfireClient
from logfire_notebook.server.tokens import TOKEN_PREFIX

from .conftest import EXAMPLES, Executed, run_notebook

pytestmark = pytest.mark.slow

WIDGET = "application/vnd.jupyter.widget-view+json"
FOOTER = re.compile(r"^([\d,]+) rows? · \d+\.\d\d s · (.+)$")


@pytest.fixture(scope="module")
def rows(demo_backend: Backend) -> list[dict[str, Any]]:
    with LogfireClient(demo_backend.token, demo_backend.base_url) as client:
        result = client.query_json_rows(
            "SELECT service_name, deployment_environment, level, kind, http_route, is_exception, exception_type, "
            "otel_status_code, trace_id, duration, attributes FROM records",
            since="8d",
            limit=10_000,
        )
    assert 0 < len(result["rows"]) < 10_000
    for row in result["rows"]:
        row["attributes"] = json.loads(row["attributes"] or "{}")
    return result["rows"]  # type: ignore[no-any-return]


def footer_rows(text: str) -> int:
    match = FOOTER.match(text)
    assert match, text
    return int(match.group(1).replace(",", ""))


QUICKSTART_PROBES = [
    "print(json.dumps({t: OUT[t].rows() for t in ('per-service', 'params', 'exceptions', 'metrics')}, default=str))",
    "print(json.dumps({'requests': requests.height, 'everything': everything.height,"
    " 'by_service': dict(everything.group_by('service_name').len().rows()),"
    " 'counts': counts.to_dict('records'), 'by_route': by_route.select('http_route', 'requests').rows()}))",
]


@pytest.fixture(scope="module")
def quickstart(demo_backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> tuple[Executed, Path]:
    saved = tmp_path_factory.mktemp("executed") / "quickstart.ipynb"
    probes = ["import json", *QUICKSTART_PROBES]
    return run_notebook(EXAMPLES / "quickstart.ipynb", demo_backend, probes, save_to=saved), saved


def test_quickstart_shows_widgets_with_footers(quickstart: tuple[Executed, Path]) -> None:
    executed, _ = quickstart
    first = executed.cell("first-query")
    assert any(WIDGET in o.get("data", {}) for o in first.outputs)
    rows = footer_rows(executed.footer("first-query"))
    assert executed.footer("first-query").split(" · ")[2] == "Last 1 day"
    # `_` is the DataFrame of the first query.
    assert executed.texts("underscore") == [f"({rows}, 4)"]
    assert executed.footer("yesterday").endswith("now-2d → now-1d")


def test_quickstart_results_match_the_data(
    quickstart: tuple[Executed, Path], rows: list[dict[str, Any]]
) -> None:
    executed, _ = quickstart
    tables, values = executed.probes[1], executed.probes[2]

    per_service: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        entry = per_service[(row["service_name"], row["deployment_environment"])]
        entry[0] += 1
        entry[1] += row["level"] >= 17
    assert {(s, e): [n, err] for s, e, n, err in tables["per-service"]} == dict(per_service)
    assert footer_rows(executed.footer("per-service")) == len(per_service)

    web_warnings = sum(1 for r in rows if r["service_name"] == "web-api" and r["level"] >= 13)
    assert len(tables["params"]) == web_warnings > 0
    assert all(level in ("warn", "error", "fatal") for _, level, _, _ in tables["params"])

    exceptions = Counter((r["service_name"], r["exception_type"]) for r in rows if r["is_exception"])
    assert {(s, t): n for s, t, n, _, _ in tables["exceptions"]} == dict(exceptions)

    requests = [r for r in rows if r["kind"] == "span" and r["http_route"] is not None]
    assert values["requests"] == len(requests) == footer_rows(executed.footer("requests"))
    by_route: Counter[str] = Counter()
    for route, n in values["by_route"]:
        by_route[route] += n  # grouped by method and route in the notebook
    assert by_route == Counter(r["http_route"] for r in requests)

    assert values["everything"] == len(rows) == footer_rows(executed.footer("all"))
    assert values["by_service"] == dict(Counter(r["service_name"] for r in rows))
    assert values["counts"] == [{"records": len(rows), "traces": len({r["trace_id"] for r in rows})}]

    metric_names = [name for name, _, _, _ in tables["metrics"]]
    assert "jobs.queue_depth" in metric_names and "http.server.duration" in metric_names


def test_quickstart_failing_query_is_one_line_and_last(quickstart: tuple[Executed, Path]) -> None:
    executed, _ = quickstart
    (error,) = [o for o in executed.cell("error").outputs if o["output_type"] == "error"]
    assert error["ename"] == "QueryError"
    assert "servce_name" in error["evalue"]
    assert len(error["traceback"]) == 1
    assert executed.nb.cells[-1] is executed.cell("error")


def test_executed_notebook_contains_no_token(
    quickstart: tuple[Executed, Path], demo_backend: Backend
) -> None:
    _, saved = quickstart
    text = saved.read_text()
    assert "application/vnd.jupyter.widget-view+json" in text  # outputs were saved
    secret = demo_backend.token.removeprefix(TOKEN_PREFIX)  # all of its random part: "_" may be inside it
    assert secret not in text
    assert demo_backend.token not in text


PYDANTIC_AI_PROBES = [
    "import json",
    "print(json.dumps({'runs': runs.select('agent', 'model', 'runs', 'avg_ms', 'failed').rows(),"
    " 'tokens': tokens.group_by('model').agg(pl.col('input_tokens').sum()).rows(),"
    " 'tools': tools.select('tool', 'calls', 'failed').rows(), 'failed_tools': failed_tools.height,"
    " 'failed_runs': failed_runs.height, 'slowest': slowest['trace_id'].to_list(), 'spans': spans.height,"
    " 'tree': spans.select('span_id', 'parent_span_id', 'kind', 'span_name').rows()}))",
]


def test_pydantic_ai_notebook_matches_the_agent_spans(
    demo_backend: Backend, rows: list[dict[str, Any]]
) -> None:
    executed = run_notebook(EXAMPLES / "pydantic_ai_monitoring.ipynb", demo_backend, PYDANTIC_AI_PROBES)
    (values,) = executed.probes[1:]

    def op(row: dict[str, Any]) -> str | None:
        return row["attributes"].get("gen_ai.operation.name")  # type: ignore[no-any-return]

    agent_runs = [r for r in rows if op(r) == "invoke_agent"]
    assert agent_runs, "the demo made no PydanticAI agent runs"
    by_agent_model: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in agent_runs:
        by_agent_model[(r["attributes"]["gen_ai.agent.name"], r["attributes"]["model_name"])].append(r)
    assert {(a, m): n for a, m, n, _, _ in values["runs"]} == {k: len(v) for k, v in by_agent_model.items()}
    for agent, model, _, avg_ms, failed in values["runs"]:
        group = by_agent_model[(agent, model)]
        # Model requests take time inside the run, so runs last seconds, not microseconds.
        assert avg_ms == pytest.approx(sum(r["duration"] for r in group) / len(group) * 1000, abs=0.06)
        assert avg_ms > 100
        assert failed == sum(1 for r in group if r["otel_status_code"] == "ERROR")

    tokens: Counter[str] = Counter()
    for r in rows:
        if op(r) == "chat":
            tokens[r["attributes"]["gen_ai.request.model"]] += int(
                r["attributes"]["gen_ai.usage.input_tokens"]
            )
    assert dict(values["tokens"]) == dict(tokens)

    tool_spans = [r for r in rows if op(r) == "execute_tool"]
    tool_calls = Counter(r["attributes"]["gen_ai.tool.name"] for r in tool_spans)
    assert {tool: calls for tool, calls, _ in values["tools"]} == dict(tool_calls)
    failed_calls = Counter(
        r["attributes"]["gen_ai.tool.name"]
        for r in tool_spans
        if r["otel_status_code"] == "ERROR" or r["is_exception"]
    )
    assert {tool: failed for tool, _, failed in values["tools"] if failed} == dict(failed_calls)
    assert values["failed_tools"] == sum(failed_calls.values()) > 0, "no tool call of the demo failed"

    failed_runs = [r for r in agent_runs if r["otel_status_code"] == "ERROR"]
    assert values["failed_runs"] == len(failed_runs)

    slowest = max(agent_runs, key=lambda r: r["duration"])
    assert values["slowest"] == [slowest["trace_id"]]
    assert values["spans"] == sum(1 for r in rows if r["trace_id"] == slowest["trace_id"])
    assert footer_rows(executed.footer("spans")) == values["spans"]
    # `%logfire --trace` showed the run as a LogfireTrace waterfall.
    assert any(WIDGET in o.get("data", {}) for o in executed.cell("spans").outputs)
    assert executed.footer("spans").endswith(f" · trace {slowest['trace_id']}")
    # The waterfall nests by parent: the run's model requests and tool calls sit under its invoke_agent span,
    # which sits under the ticket's root span; every span's parent is in the trace.
    spans = {span_id: (parent, name) for span_id, parent, kind, name in values["tree"] if kind == "span"}
    (root,) = [name for parent, name in spans.values() if parent is None]
    assert root == "handle ticket {ticket_id}"
    (run_id,) = [i for i, (_, name) in spans.items() if name.startswith("invoke_agent ")]
    assert spans[spans[run_id][0]][1] == root
    calls = [name for parent, name in spans.values() if parent == run_id]
    assert any(name.startswith("chat ") for name in calls)
    assert all(name.startswith(("chat ", "execute_tool ")) for name in calls), calls
    assert all(parent is None or parent in spans for parent, _ in spans.values())


LOKI_PROBES = [
    "import json",
    "print(json.dumps({'jobs': jobs.height, 'levels': dict(jobs['level'].value_counts().rows()),"
    " 'environments': sorted(set(jobs['labels'].map.get('deployment_environment_name').to_list())),"
    " 'retried': retried.select('line', pl.col('parsed').map.get('outcome')).rows(),"
    " 'per_level': OUT['per-level-totals'].rows(), 'services': services, 'labels': labels,"
    " 'per_kind': {r['labels']['kind']: r['value'] for r in per_kind.to_dicts()},"
    " 'params': sync_jobs.select(pl.col('parsed').map.get('kind')).to_series().to_list()}))",
]


LOKI_LEVELS = ("trace", "debug", "info", "warn", "error", "fatal")
"""Loki's level of a log by its OTLP severity band (4 numbers each): Logfire's notice (10) is Loki's info."""


@pytest.fixture(scope="module")
def demo_logs(demo_backend: Backend) -> list[dict[str, Any]]:
    """Every log the demo wrote, read over SQL: OpenTelemetry log records and Logfire's logs (`logfire.info`,
    sent as spans of type log) alike. LogQL sees the same entries."""
    with LogfireClient(demo_backend.token, demo_backend.base_url) as client:
        logs = client.query_all(
            "SELECT start_timestamp, trace_id, span_id, service_name, message, level, deployment_environment "
            "FROM records WHERE kind = 'log'",
            since="8d",
            progress=False,
        )
    return [{**r, "level": LOKI_LEVELS[min((r["level"] - 1) // 4, 5)]} for r in logs.to_dicts()]


@pytest.fixture(scope="module")
def demo_log_lines(demo_logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The worker's logs: what the notebook's `{service_name="worker"}` queries."""
    return [r for r in demo_logs if r["service_name"] == "worker"]


def test_loki_quickstart_sees_the_demo_logs_over_logql(
    demo_backend: Backend, demo_logs: list[dict[str, Any]], demo_log_lines: list[dict[str, Any]]
) -> None:
    executed = run_notebook(EXAMPLES / "loki_quickstart.ipynb", demo_backend, LOKI_PROBES)
    (values,) = executed.probes[1:]
    job_lines = [r for r in demo_log_lines if '"job finished"' in r["message"]]
    assert job_lines and len(job_lines) < len(demo_log_lines)

    # The first query shows the widget and every worker entry, as SQL counts them.
    assert any(WIDGET in o.get("data", {}) for o in executed.cell("log-query").outputs)
    assert values["jobs"] == len(demo_log_lines) == footer_rows(executed.footer("log-query"))
    assert values["levels"] == dict(Counter(r["level"] for r in demo_log_lines))
    assert {"info", "warn"} <= set(values["levels"])
    assert values["environments"] == sorted({r["deployment_environment"] for r in demo_log_lines})

    # Line filter, logfmt, label filter: the jobs that did not finish on the first attempt.
    not_ok = [r for r in job_lines if "outcome=ok" not in r["message"]]
    assert sorted(line for line, _ in values["retried"]) == sorted(r["message"] for r in not_ok)
    assert {outcome for _, outcome in values["retried"]} <= {"retried", "gave_up"}
    assert footer_rows(executed.footer("retried")) == len(not_ok) > 0
    slow = [r for r in job_lines if int(r["message"].rsplit("duration_ms=", 1)[1]) > 1000]
    assert footer_rows(executed.footer("slow")) == len(slow)

    # The metric query counts the same lines per parsed level.
    assert dict(values["per_level"]) == dict(Counter(r["level"] for r in job_lines))
    assert footer_rows(executed.footer("per-level")) > 0

    # Every service that logged, through SQL as through LogQL (Logfire's logs included).
    assert (
        values["services"] == sorted({r["service_name"] for r in demo_logs}) and len(values["services"]) > 1
    )
    assert {"service_name", "deployment_environment_name"} <= set(values["labels"])
    kinds = Counter(r["message"].split(" kind=", 1)[1].split(" ", 1)[0] for r in job_lines)
    assert values["per_kind"] == dict(kinds)

    # `{kind}` became the string "sync_inventory".
    assert values["params"] == ["sync_inventory"] * kinds["sync_inventory"]
    assert footer_rows(executed.footer("params")) == kinds["sync_inventory"]

    (error,) = [o for o in executed.cell("error").outputs if o["output_type"] == "error"]
    assert error["ename"] == "QueryError" and "parse error at line 1" in error["evalue"]
    assert len(error["traceback"]) == 1
