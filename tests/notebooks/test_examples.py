"""examples/quickstart.ipynb and examples/pydantic_ai_monitoring.ipynb, run top to bottom in a real ipykernel
against a local backend filled by `logfire-notebook demo`; their results are compared with answers computed here
from the raw rows."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from _backend import Backend

from logfire_notebook import LogfireClient

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
    secret = demo_backend.token.rsplit("_", 1)[-1]
    assert secret not in text
    assert demo_backend.token not in text


PYDANTIC_AI_PROBES = [
    "import json",
    "print(json.dumps({'runs': runs.select('agent', 'model', 'runs', 'avg_ms', 'failed').rows(),"
    " 'tokens': tokens.group_by('model').agg(pl.col('input_tokens').sum()).rows(),"
    " 'tools': tools.select('tool', 'calls', 'failed').rows(), 'failed_tools': failed_tools.height,"
    " 'failed_runs': failed_runs.height, 'slowest': slowest['trace_id'].to_list(), 'spans': spans.height}))",
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
