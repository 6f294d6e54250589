"""Request bodies, bounded: every route that reads a body (queries, OTLP ingest, Loki push) reads it here.

`read_body` streams the body and stops at `MAX_BODY_BYTES` (or a route's own smaller cap) without holding
more; `inflate` decompresses gzip/deflate in pieces and stops at `MAX_INFLATED_BYTES`, so a decompression
bomb costs at most the cap, never what it would inflate to. Both raise `BodyTooLarge` (answer 413) with a
sentence for the client; `inflate` raises `BadEncoding` (answer 400) for data that is not what the
Content-Encoding says.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["MAX_BODY_BYTES", "MAX_INFLATED_BYTES", "BadEncoding", "BodyTooLarge", "inflate", "read_body"]

MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest body a request may send, as sent (compressed or not). OpenTelemetry SDKs send batches of a
few hundred spans, far below this."""
MAX_INFLATED_BYTES = 64 * 1024 * 1024
"""The largest a compressed body may become once decompressed."""

_CHUNK = 256 * 1024


class BodyTooLarge(Exception):
    """The body is over a cap (HTTP 413); `str()` is one sentence for the client."""


class BadEncoding(Exception):
    """The body is not valid data of its Content-Encoding (HTTP 400)."""


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB"


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, or BodyTooLarge as soon as it is known to be over `limit` (by Content-Length or by
    what has arrived)."""
    too_large = BodyTooLarge(f"The request body is larger than {_mib(limit)}; send smaller batches.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        parts.append(chunk)
    return b"".join(parts)


def inflate(body: bytes, encoding: str | None, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """`body` decompressed as its Content-Encoding says (gzip, deflate or none), at most `limit` bytes."""
    encoding = (encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise BadEncoding(f"Content-Encoding {encoding!r} is not supported; send gzip, deflate or identity.")
    out = bytearray()
    try:
        while True:
            # max_length bounds each step's output, so a tiny input cannot inflate past the cap at once.
            stream = zlib.decompressobj(wbits)
            piece = stream.decompress(body, _CHUNK)
            while True:
                out += piece
                if len(out) > limit:
                    raise BodyTooLarge(
                        f"The request body inflates to more than {_mib(limit)}; send smaller batches."
                    )
                if not stream.unconsumed_tail:
                    break
                piece = stream.decompress(stream.unconsumed_tail, _CHUNK)
            out += stream.flush()
            if len(out) > limit:
                raise BodyTooLarge(
                    f"The request body inflates to more than {_mib(limit)}; send smaller batches."
                )
            if not stream.eof:
                raise BadEncoding(
                    f"The body is not complete {encoding} data although Content-Encoding says so; "
                    "compress it or drop the header."
                )
            body = stream.unused_data  # gzip allows several members one after another
            if not body:
                return bytes(out)
    except zlib.error:
        raise BadEncoding(
            f"The body is not valid {encoding} data although Content-Encoding says so; "
            "compress it or drop the header."
        ) from None
