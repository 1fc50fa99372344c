"""Fixtures: a fresh valid resource of each kind."""

from typing import Any

import pytest
from samples import fresh


@pytest.fixture
def tenant() -> dict[str, Any]:
    return fresh("WalletTenant")


@pytest.fixture
def source() -> dict[str, Any]:
    return fresh("DocumentSource")


@pytest.fixture
def route() -> dict[str, Any]:
    return fresh("GatewayRoute")
