from __future__ import annotations

import pytest

from licpipe.pull.graph_reports import (
    ENV_AUTHORITY,
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ENV_GRAPH_BASE,
    ENV_TENANT_ID,
)
from licpipe.pull.okta_api import ENV_API_TOKEN, ENV_ORG_URL
from tests.pull.local_server import LocalServer


@pytest.fixture
def server():
    local = LocalServer()
    local.start()
    yield local
    local.stop()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Keep real credentials in the environment away from the tests."""
    for name in (
        ENV_TENANT_ID,
        ENV_CLIENT_ID,
        ENV_CLIENT_SECRET,
        ENV_AUTHORITY,
        ENV_GRAPH_BASE,
        ENV_ORG_URL,
        ENV_API_TOKEN,
    ):
        monkeypatch.delenv(name, raising=False)


class FakeSleep:
    """Records requested waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake_sleep():
    return FakeSleep()
