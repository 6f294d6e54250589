"""Fixtures of the Loki API tests: one real backend (`loki_backend`, empty) shared by the Loki tests; each
test writes into a tenant of its own (`X-Scope-OrgID`), so tests never see each other's streams."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from _backend import Backend


@pytest.fixture(scope="session")
def loki_backend(make_backend: Callable[..., Backend]) -> Backend:
    return make_backend()


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def loki(loki_backend: Backend, tenant: str) -> Iterator[httpx.Client]:
    """An httpx client for the Loki API with this test's own tenant."""
    with httpx.Client(
        base_url=loki_backend.base_url, headers={"X-Scope-OrgID": tenant}, timeout=60
    ) as client:
        yield client
