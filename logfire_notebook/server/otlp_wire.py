"""OTLP/HTTP bodies → export request messages: protobuf or JSON, gzip/deflate, OTLP/JSON's hex ids.

Bad input raises `OTLPDecodeError` with one sentence for the client, before anything is mapped or stored.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from logfire_notebook.server.bodies import BadEncoding, inflate

__all__ = ["SIGNALS", "OTLPDecodeError", "decode_request"]


class OTLPDecodeError(ValueError):
    """The request body is not a valid OTLP message; `str()` is one sentence for the client."""


SIGNALS: dict[str, type[Message]] = {
    "traces": ExportTraceServiceRequest,
    "logs": ExportLogsServiceRequest,
    "metrics": ExportMetricsServiceRequest,
}


def decode_request(signal: str, body: bytes, content_type: str | None, content_encoding: str | None) -> Any:
    """Parse an OTLP/HTTP body (protobuf or JSON, optionally gzip/deflate) into the export request message.

    A body that inflates past `bodies.MAX_INFLATED_BYTES` raises `bodies.BodyTooLarge`.
    """
    message_type = SIGNALS[signal]
    try:
        body = inflate(body, content_encoding)
    except BadEncoding as exc:
        raise OTLPDecodeError(str(exc)) from None
    media_type = (content_type or "application/x-protobuf").split(";")[0].strip().lower()
    if media_type == "application/json":
        return _parse_json(message_type, body, signal)
    if media_type in ("application/x-protobuf", "application/protobuf", "application/octet-stream"):
        try:
            return message_type.FromString(body)
        except (DecodeError, RuntimeError, ValueError) as exc:
            raise OTLPDecodeError(
                f"The body is not a valid OTLP protobuf {message_type.__name__} ({exc}); "
                "send the encoded request as the OTLP/HTTP spec describes."
            ) from None
    raise OTLPDecodeError(
        f"Content-Type {media_type!r} is not supported; send application/x-protobuf or application/json."
    )


# OTLP/JSON writes trace and span ids as hex, where protobuf's JSON mapping expects base64 for bytes.
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


def _parse_json(message_type: type[Message], body: bytes, signal: str) -> Any:
    try:
        data = json.loads(body)
    except RecursionError:
        raise OTLPDecodeError(
            f"The JSON body nests too deeply; send an OTLP/JSON {signal} request."
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise OTLPDecodeError(
            f"The body is not valid JSON ({exc}); send an OTLP/JSON {signal} request."
        ) from None
    if not isinstance(data, dict):
        raise OTLPDecodeError(f"The JSON body must be an object; send an OTLP/JSON {signal} request.")
    try:
        _hex_ids_to_base64(data)
        return json_format.ParseDict(data, message_type(), ignore_unknown_fields=True)
    except RecursionError:
        raise OTLPDecodeError(
            f"The JSON body nests too deeply; send an OTLP/JSON {signal} request."
        ) from None
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise OTLPDecodeError(
            f"The JSON body is not a valid OTLP {signal} request ({_one_line(str(exc))}); "
            "check it against the OTLP/JSON spec."
        ) from None


def _hex_ids_to_base64(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    raise ValueError(f"{key} {value!r} is not a hex string") from None
            else:
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
