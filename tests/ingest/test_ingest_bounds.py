"""Ingest is bounded: a decompression bomb or an oversized body is refused with 413 while the server's
memory stays under a stated bound, and what was stored before is still there."""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from _backend import Backend, start_backend
from _ingest_helpers import count
from _memory import MiB, PeakMemory, resident_bytes

# The caps are 16 MiB as sent and 64 MiB inflated (server/bodies.py); decoding a capped body in a worker
# process takes a few times that at most.
INGEST_MEMORY_BOUND = 500 * MiB


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    server = start_backend(tmp_path_factory.mktemp("ingest-bounds") / "data")
    yield server
    server.stop()


def gzip_bomb(inflated: int) -> bytes:
    """A gzip body that inflates to `inflated` zero bytes (about 1/1000 of that as sent).

    Deflating 1 GiB took 13-30 s; a full flush resets the compressor, so every MiB of zeros deflates to the
    same bytes: one MiB is compressed and its bytes repeated, in gzip's framing (RFC 1952) with the true
    checksum and size."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(MiB)
    block = squeeze.compress(zeros) + squeeze.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(inflated // MiB):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # magic, deflate, no flags or time, best, unknown OS
    trailer = struct.pack("<II", crc, inflated & 0xFFFFFFFF)
    return header + block * (inflated // MiB) + squeeze.flush() + trailer


def _send(backend: Backend, body: bytes | Iterator[bytes], **headers: str) -> httpx.Response:
    return httpx.post(
        f"{backend.base_url}/v1/traces",
        content=body,
        headers={"Content-Type": "application/x-protobuf", **headers},
        timeout=120,
    )


def test_gzip_bombs_are_refused_with_413_within_a_memory_bound(backend: Backend) -> None:
    stored = count(backend)
    assert gzip.decompress(gzip_bomb(4 * MiB)) == bytes(4 * MiB)  # the hand-made framing is valid gzip
    bomb = gzip_bomb(1024 * MiB)
    assert len(bomb) < 2 * MiB
    before = resident_bytes(backend.process.pid)
    with PeakMemory(backend.process.pid) as memory, ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: _send(backend, bomb, **{"Content-Encoding": "gzip"}), range(2)))
    for response in answers:
        assert response.status_code == 413
        assert b"inflates to more than 64 MiB" in response.content
    taken = memory.peak - before
    assert taken < INGEST_MEMORY_BOUND, f"two bombs at once took {taken // MiB} MiB"
    assert count(backend) == stored


def test_a_body_over_the_cap_is_refused_before_it_is_read_whole(backend: Backend) -> None:
    big = bytes(20 * MiB)
    assert _send(backend, big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server counts as it reads
        for _ in range(20):
            yield bytes(MiB)

    response = _send(backend, chunks())
    assert response.status_code == 413
    assert b"larger than 16 MiB" in response.content
