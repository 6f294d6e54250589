"""A 2xx answer means committed: SIGKILL right after acknowledged requests loses none of them."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
from _backend import start_backend
from _ingest_helpers import count, rows
from _processes import descendants, left_running
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

SPANS_PER_REQUEST = 50
ACKNOWLEDGED_BEFORE_KILL = 40
# Generous: a loaded CI machine may take seconds per request, but a stuck server must fail, not hang.
WAIT_SECONDS = 180


def request_body(sender: int, number: int) -> bytes:
    """One export request whose spans all carry the request's (sender, number) in their trace id."""
    trace_id = bytes.fromhex(f"{sender:08x}{number:08x}") + bytes(8)
    now = time.time_ns()
    spans = [
        Span(
            trace_id=trace_id,
            span_id=(i + 1).to_bytes(8, "big"),
            name="durable {i}",
            start_time_unix_nano=now,
            end_time_unix_nano=now + 1000,
            attributes=[KeyValue(key="i", value=AnyValue(int_value=i))],
        )
        for i in range(SPANS_PER_REQUEST)
    ]
    resource = ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])
    resource.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="durable")))
    return ExportTraceServiceRequest(resource_spans=[resource]).SerializeToString()


def test_acknowledged_records_survive_sigkill_and_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    backend = start_backend(data_dir)
    acknowledged: list[tuple[int, int]] = []
    stop = threading.Event()

    def send(sender: int) -> None:
        with httpx.Client(timeout=30) as client:
            number = 0
            while not stop.is_set():
                number += 1
                try:
                    response = client.post(
                        f"{backend.base_url}/v1/traces",
                        content=request_body(sender, number),
                        headers={"Content-Type": "application/x-protobuf"},
                    )
                except httpx.TransportError:
                    if backend.process.poll() is not None:
                        return  # the server is gone
                    continue  # a slow answer under load: unacknowledged, so the next request goes on
                if response.status_code == 200:
                    acknowledged.append((sender, number))

    senders = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in senders:
        thread.start()
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL:
            assert time.monotonic() < deadline, (
                f"the server acknowledged only {len(acknowledged)} of {ACKNOWLEDGED_BEFORE_KILL} export "
                f"requests in {WAIT_SECONDS} s; see {backend.log_path}"
            )
            time.sleep(0.01)
        workers = descendants(backend.process.pid)  # the decode workers
        # Kill while requests are in flight, right after the latest acknowledgement.
        os.kill(backend.process.pid, signal.SIGKILL)
        backend.process.wait()
        seen = list(acknowledged)
        # They leave with the server, or they would run on for ever.
        assert left_running(workers, 15) == []
    finally:
        stop.set()
        for thread in senders:
            thread.join()
        backend.stop()

    restarted = start_backend(data_dir)
    try:
        stored = {
            (int(r["trace_id"][:8], 16), int(r["trace_id"][8:16], 16)): r["n"]
            for r in rows(restarted, "SELECT trace_id, count(*) AS n FROM records GROUP BY trace_id")
        }
        missing = [key for key in seen if key not in stored]
        assert missing == [], f"{len(missing)} of {len(seen)} acknowledged requests were lost"
        # Requests in flight at the kill are all or nothing, never half stored.
        assert set(stored.values()) == {SPANS_PER_REQUEST}
        assert count(restarted, where="service_name = 'durable'") == SPANS_PER_REQUEST * len(stored)
    finally:
        restarted.stop()


def test_a_stopped_server_leaves_its_log_clean_and_its_decode_workers_gone(tmp_path: Path) -> None:
    # Ctrl-C or SIGTERM after some ingest (which starts the decode workers): the server closes its workers on
    # the way out; else multiprocessing's tracker wrote a warning about leaked semaphores into the log.
    backend = start_backend(tmp_path / "data")
    response = httpx.post(
        f"{backend.base_url}/v1/traces",
        content=request_body(1, 1),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=30,
    )
    assert response.status_code == 200
    workers = descendants(backend.process.pid)
    backend.stop()
    assert backend.process.returncode is not None
    assert left_running(workers, 10) == []
    assert backend.log_path is not None
    log = backend.log_path.read_text(errors="replace")
    assert "leaked" not in log and "Traceback" not in log and "Warning" not in log, log
