"""Shared pytest set-up: the --run-slow switch and hypothesis profiles."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

settings.register_profile(
    "debug",
    max_examples=200,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="run tests marked slow and use the thorough hypothesis profile",
    )


def pytest_configure(config: pytest.Config) -> None:
    profile = os.environ.get("HYPOTHESIS_PROFILE")
    if profile is None:
        profile = "thorough" if config.getoption("--run-slow") else "default"
    settings.load_profile(profile)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (make test does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# Real redis-server fixtures for the Redis mode tests (see tests/redis_support.py).
from tests.redis_support import redis_server, redis_url  # noqa: E402, F401
