"""Shared fixtures: small scenarios that run eagerly in seconds."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402
import sionna  # noqa: E402

import linksim.plugins  # noqa: E402
from linksim.config import Scenario  # noqa: E402

linksim.plugins.load_all()  # fill the registries the config validates against


def make_scenario(**sections) -> Scenario:
    """A Table-II scenario with ``sections`` overriding top-level keys, run eagerly."""
    data = {"runtime": {"mode": "eager"}, **sections}
    return Scenario.model_validate(data)


@pytest.fixture(autouse=True)
def _seed():
    sionna.phy.config.seed = 1234
    yield
