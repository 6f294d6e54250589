"""Loki push bodies → `PushStream`s: `POST /loki/api/v1/push` (JSON, or protobuf in block snappy) and the
older `POST /api/prom/push` JSON, each optionally gzip- or deflate-encoded.

`decode_push` is the one entry point: what a body inflates to is bounded by the backend's shared limits
(`server/bodies.py`, BodyTooLarge past them), and a body is decoded completely before anything is stored. Bad input raises
`PushError` with one sentence for the client (Loki answers it as a 400 text body).
"""

from __future__ import annotations

import json
import re
from typing import Any

from logfire_notebook.server.bodies import MAX_INFLATED_BYTES, BadEncoding, BodyTooLarge, inflate
from logfire_notebook.server.loki.storage import PushStream
from logfire_notebook.server.loki.times import MAX_NS, TimeError, parse_rfc3339_ns
from logfire_notebook.server.loki.units import unquote

__all__ = ["MAX_INFLATED_BYTES", "PushError", "decode_push", "parse_labels"]


class PushError(ValueError):
    """The push body is not valid; `str()` is one sentence for the client."""


def decode_push(
    body: bytes, content_type: str | None, content_encoding: str | None, *, legacy: bool = False
) -> list[PushStream]:
    """Decode one push request body into its streams. `legacy` selects `/api/prom/push`'s JSON form."""
    body = _inflate(body, (content_encoding or "").strip().lower())
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "application/json":
        data = _json(body)
        return _legacy_json(data) if legacy else _json_streams(data)
    if media in ("", "application/x-protobuf", "application/protobuf", "application/octet-stream"):
        return _protobuf(body)
    raise PushError(
        f"unsupported Content-Type {media!r}; send application/json, or application/x-protobuf compressed "
        "with snappy"
    )


# ---- compression ----


def _inflate(body: bytes, encoding: str) -> bytes:
    # The backend's shared, bounded inflater; past its cap it raises BodyTooLarge (a 413).
    try:
        return inflate(body, encoding, MAX_INFLATED_BYTES)
    except BadEncoding as exc:
        raise PushError(str(exc)) from None


def _snappy_length(body: bytes) -> int:
    """The uncompressed length a block-snappy body declares in its first varint."""
    length, shift = 0, 0
    for i, byte in enumerate(body[:10]):
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return length
        shift += 7
        if i == 9:
            break
    raise PushError("the body is not block-snappy compressed protobuf; compress the PushRequest with snappy")


def _unsnappy(body: bytes) -> bytes:
    import cramjam

    if _snappy_length(body) > MAX_INFLATED_BYTES:
        raise BodyTooLarge(
            f"The request body inflates to more than {MAX_INFLATED_BYTES // 2**20} MiB; send smaller batches."
        )
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError:
        raise PushError(
            "the body is not block-snappy compressed protobuf; compress the PushRequest with snappy "
            "(block format), or send JSON with Content-Type: application/json"
        ) from None


# ---- label strings ----

_LABEL = re.compile(r'\s*([^\s=,{}"]+)\s*=\s*("(?:[^"\\]|\\.)*")\s*(,|$)')


def parse_labels(text: str) -> dict[str, str]:
    """`{a="b", c="d"}` → a dict; PushError when it is not a label set."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        raise PushError(f'error parsing labels {text!r}: a label set looks like {{app="x"}}')
    body, pos, labels = stripped[1:-1], 0, {}
    while pos < len(body) and body[pos:].strip():
        m = _LABEL.match(body, pos)
        if m is None:
            raise PushError(f'error parsing labels {text!r}: a label set looks like {{app="x"}}')
        labels[m.group(1)] = unquote(m.group(2))
        pos = m.end()
    return _check_labels(labels)


_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    if not labels:
        raise PushError("error at least one label pair is required per stream")
    for name in labels:
        if not _LABEL_NAME.match(name):
            raise PushError(
                f"invalid label name {name!r}: names are letters, digits and _ and do not start with a digit"
            )
    return labels


# ---- JSON ----


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PushError(f"the body is not valid JSON ({exc})") from None
    except RecursionError:
        raise PushError('the body nests too deeply to be a push request; send {"streams": [...]}') from None


def _metadata(value: Any, where: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise PushError(f"{where}: structured metadata must be an object of string values")
    return {_utf8(str(k)): _utf8(v) for k, v in value.items()} or None


def _utf8(text: str) -> str:
    """`text` with lone surrogates (JSON's `"\\ud800"` escape) as U+FFFD, as Go's JSON decoder reads them;
    Python keeps them, and no UTF-8 store or answer can hold one."""
    if text.isascii():
        return text
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _json_streams(data: Any) -> list[PushStream]:
    streams = data.get("streams") if isinstance(data, dict) else None
    if not isinstance(streams, list):
        raise PushError(
            'the body must be {"streams": [{"stream": {...}, "values": [["<ns>", "line"], ...]}]}'
        )
    out: list[PushStream] = []
    for i, item in enumerate(streams):
        if not isinstance(item, dict):
            raise PushError(f"streams[{i}] must be an object with stream and values")
        labels = item.get("stream", item.get("labels"))
        if isinstance(labels, str):
            parsed = parse_labels(_utf8(labels))
        elif isinstance(labels, dict) and all(isinstance(v, str) for v in labels.values()):
            parsed = _check_labels({_utf8(k): _utf8(v) for k, v in labels.items()})
        else:
            raise PushError(f"streams[{i}].stream must be an object of string label values")
        values = item.get("values")
        if not isinstance(values, list):
            raise PushError(f'streams[{i}].values must be a list of ["<ns>", "line"] pairs')
        stream = PushStream(parsed)
        for j, value in enumerate(values):
            where = f"streams[{i}].values[{j}]"
            if not isinstance(value, list) or len(value) not in (2, 3):
                raise PushError(f'{where} must be ["<ns>", "line"] or ["<ns>", "line", {{metadata}}]')
            ts, line = value[0], value[1]
            # ASCII digits that fit Go's int64 (str.isdigit() alone takes "²", which int() refuses).
            if (
                not isinstance(ts, str)
                or not (ts.isascii() and ts.isdigit())
                or len(ts) > 19
                or int(ts) > MAX_NS
            ):
                raise PushError(
                    f"{where}: the timestamp must be a string of nanoseconds since the epoch (before the year "
                    f"2262), got {ts if not isinstance(ts, str) or len(ts) < 40 else ts[:40] + '...'!r}"
                )
            if not isinstance(line, str):
                raise PushError(f"{where}: the line must be a string")
            stream.entries.append(
                (int(ts), _utf8(line), _metadata(value[2] if len(value) == 3 else None, where))
            )
        out.append(stream)
    return out


def _legacy_json(data: Any) -> list[PushStream]:
    streams = data.get("streams") if isinstance(data, dict) else None
    if not isinstance(streams, list):
        raise PushError(
            'the body must be {"streams": [{"labels": "{a=\\"b\\"}", "entries": [{"ts": ..., "line": ...}]}]}'
        )
    out: list[PushStream] = []
    for i, item in enumerate(streams):
        if not isinstance(item, dict) or not isinstance(item.get("labels"), str):
            raise PushError(f'streams[{i}].labels must be a label set string like {{a="b"}}')
        stream = PushStream(parse_labels(_utf8(item["labels"])))
        entries = item.get("entries")
        if not isinstance(entries, list):
            raise PushError(f'streams[{i}].entries must be a list of {{"ts", "line"}} objects')
        for j, entry in enumerate(entries):
            where = f"streams[{i}].entries[{j}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("line"), str):
                raise PushError(f"{where} must be an object with ts (RFC3339) and line")
            try:
                ts = parse_rfc3339_ns(str(entry.get("ts", "")))
            except TimeError:
                raise PushError(
                    f"{where}: ts must be an RFC3339 timestamp, got {entry.get('ts')!r}"
                ) from None
            stream.entries.append(
                (ts, _utf8(entry["line"]), _metadata(entry.get("structuredMetadata"), where))
            )
        out.append(stream)
    return out


# ---- protobuf ----


def _protobuf(body: bytes) -> list[PushStream]:
    from google.protobuf.message import DecodeError

    from logfire_notebook.server.loki.push_proto import PushRequest

    raw = _unsnappy(body)
    try:
        request = PushRequest.FromString(raw)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise PushError(f"the body is not a valid logproto.PushRequest ({exc})") from None
    out: list[PushStream] = []
    for stream in request.streams:
        pushed = PushStream(parse_labels(stream.labels))
        append = pushed.entries.append
        for entry in stream.entries:
            metadata = (
                {p.name: p.value for p in entry.structuredMetadata} if entry.structuredMetadata else None
            )
            append((entry.timestamp.seconds * 1_000_000_000 + entry.timestamp.nanos, entry.line, metadata))
        out.append(pushed)
    return out
