"""The OTLP → Arrow mapping as pure functions, on what the official SDK really sends.

A tiny HTTP receiver in the test captures the SDK program's export requests; no backend is involved.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from _ingest_helpers import run_sdk_program
from google.protobuf.json_format import MessageToDict

from logfire_notebook._schema import METRICS, RECORDS
from logfire_notebook.server.otlp_metrics import metrics_schema, metrics_to_table
from logfire_notebook.server.otlp_records import logs_to_table, records_schema, spans_to_table
from logfire_notebook.server.otlp_wire import OTLPDecodeError, decode_request


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[tuple[bytes, str]]]]:
    """Request bodies by signal, with their Content-Type, as the SDK exported them."""
    bodies: dict[str, list[tuple[bytes, str]]] = {"traces": [], "logs": [], "metrics": []}

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            bodies[self.path.rsplit("/", 1)[-1]].append((body, self.headers.get("Content-Type", "")))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        run_sdk_program(f"http://127.0.0.1:{server.server_address[1]}", tmp_path_factory.mktemp("capture"))
        yield bodies
    finally:
        server.shutdown()
        server.server_close()


def mapped(captured: dict[str, list[tuple[bytes, str]]], signal: str) -> pa.Table:
    mapper = {"traces": spans_to_table, "logs": logs_to_table, "metrics": metrics_to_table}[signal]
    return pa.concat_tables(
        mapper(decode_request(signal, body, content_type, None)) for body, content_type in captured[signal]
    )


def test_sdk_sends_protobuf_to_the_three_otlp_paths(captured: dict[str, list[tuple[bytes, str]]]) -> None:
    assert all(captured[signal] for signal in ("traces", "logs", "metrics"))
    assert {ct for bodies in captured.values() for _, ct in bodies} == {"application/x-protobuf"}


def test_tables_use_only_schema_columns_with_their_arrow_types(
    captured: dict[str, list[tuple[bytes, str]]],
) -> None:
    records = {c.name for c in RECORDS}
    for signal in ("traces", "logs"):
        table = mapped(captured, signal)
        assert set(table.column_names) <= records
        assert table.schema == records_schema()
    metrics = mapped(captured, "metrics")
    assert set(metrics.column_names) <= {c.name for c in METRICS}
    assert metrics.schema == metrics_schema()
    # Columns that are NOT NULL in Logfire's schema are always filled.
    spans = mapped(captured, "traces")
    for name in (
        "kind",
        "level",
        "message",
        "span_name",
        "span_id",
        "trace_id",
        "service_name",
        "start_timestamp",
    ):
        assert spans.column(name).null_count == 0, name


def test_spans_map_ids_levels_and_decoded_attributes(captured: dict[str, list[tuple[bytes, str]]]) -> None:
    rows = mapped(captured, "traces").to_pylist()
    assert all(len(r["trace_id"]) == 32 and r["trace_id"] == r["trace_id"].lower() for r in rows)
    assert all(len(r["span_id"]) == 16 for r in rows)
    root = next(r for r in rows if r["span_name"] == "checkout {cart_id}")
    assert json.loads(root["attributes"])["items"] == {"sku": "A1", "qty": [1, 2]}
    assert root["tags"] == ["shop", "t1"]
    levels = sorted(r["level"] for r in rows if r["span_name"] == "level {name} reached")
    assert levels == [1, 5, 9, 10, 13, 17, 21]
    assert {r["kind"] for r in rows} == {"span", "log"}


def _to_otlp_json(message: Any) -> bytes:
    """Protobuf's JSON mapping turned into OTLP/JSON: hex ids instead of base64."""
    data = MessageToDict(message)

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    node[key] = base64.b64decode(value).hex()
                else:
                    fix(value)
        elif isinstance(node, list):
            for item in node:
                fix(item)

    fix(data)
    return json.dumps(data).encode()


@pytest.mark.parametrize("signal", ["traces", "metrics"])
def test_json_encoding_of_the_same_request_maps_to_the_same_rows(
    captured: dict[str, list[tuple[bytes, str]]], signal: str
) -> None:
    for body, content_type in captured[signal]:
        message = decode_request(signal, body, content_type, None)
        from_json = decode_request(signal, _to_otlp_json(message), "application/json", None)
        mapper = spans_to_table if signal == "traces" else metrics_to_table
        assert mapper(from_json).equals(mapper(message))


def test_decode_errors_are_one_sentence() -> None:
    with pytest.raises(OTLPDecodeError) as info:
        decode_request("traces", b"\x0a\xff\xff\xff", "application/x-protobuf", None)
    message = str(info.value)
    assert message.startswith("The body is not a valid OTLP protobuf ExportTraceServiceRequest")
    assert message.endswith(".") and message.count(". ") == 0
    with pytest.raises(OTLPDecodeError, match="not a hex string"):
        decode_request(
            "logs",
            b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}',
            "application/json",
            None,
        )
