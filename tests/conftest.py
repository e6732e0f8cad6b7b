"""Shared fixtures and Hypothesis profiles of the test suite (shared helpers: the package ``harness``)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from contracts import Contract, load

pytest_plugins = ["pytester"]

settings.register_profile("default", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile("default")


@pytest.fixture(scope="session")
def contract() -> Contract:
    return load()
