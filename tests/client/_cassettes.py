"""Replays the recorded real Logfire responses of tests/fixtures/logfire-api (copies of shared/fixtures) through httpx.MockTransport.

A request is answered only if its method, path and JSON body equal a recorded request's, so replaying also
checks that the client sends what the official SDK sent.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import yaml

FIXTURES = Path(__file__).parents[1] / "fixtures" / "logfire-api"
_HOP_HEADERS = {"transfer-encoding", "content-length", "connection"}


def load(name: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((FIXTURES / name).read_text())
    return list(data["interactions"])


def _body_bytes(body: Any) -> bytes:
    value = body["string"] if isinstance(body, dict) else body
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _request_json(body: Any) -> Any:
    raw = _body_bytes(body)
    return json.loads(raw) if raw else None


def transport(name: str, requests: list[httpx.Request] | None = None) -> httpx.MockTransport:
    interactions = load(name)

    def handle(request: httpx.Request) -> httpx.Response:
        if requests is not None:
            requests.append(request)
        sent = json.loads(request.content) if request.content else None
        for item in interactions:
            recorded = item["request"]
            if recorded["method"] != request.method or httpx.URL(recorded["uri"]).path != request.url.path:
                continue
            if request.method == "POST" and _request_json(recorded["body"]) != sent:
                continue
            response = item["response"]
            headers = [
                (key, value)
                for key, values in response["headers"].items()
                if key.lower() not in _HOP_HEADERS
                for value in values
            ]
            return httpx.Response(
                response["status"]["code"], headers=headers, content=_body_bytes(response["body"])
            )
        return httpx.Response(599, text=f"no recorded answer for {request.method} {request.url.path} {sent}")

    return httpx.MockTransport(handle)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
