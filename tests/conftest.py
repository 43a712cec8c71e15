"""Shared fixtures: small scenarios that run eagerly in seconds."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402
import sionna  # noqa: E402

import linksim.plugins  # noqa: E402
from linksim.config import Scenario  # noqa: E402

linksim.plugins.load_all()  # fill the registries the config validates against


TINY_BLER_YAML = """\
name: tiny
seed: 5
channel: {model: awgn}
runtime: {mode: eager}
experiments:
  - kind: bler
    name: tiny
    mcs: [{qam: 4, rate: 1/2}]
    sweep: {receiver.csi: [perfect]}
    ebno_db: [1.0, 3.0, 4.0]
    batch_size: 4
    target_block_errors: 8
    max_blocks: 32
    min_bler: 0.0
"""
"""A three-point AWGN BLER sweep that runs eagerly in seconds (CLI, resume and plot tests)."""


def make_scenario(**sections) -> Scenario:
    """A Table-II scenario with ``sections`` overriding top-level keys, run eagerly."""
    data = {"runtime": {"mode": "eager"}, **sections}
    return Scenario.model_validate(data)


@pytest.fixture(autouse=True)
def _seed():
    sionna.phy.config.seed = 1234
    yield


class FixedSampler:
    """A channel sampler that always returns the same draws ``(h, no)``."""

    def __init__(self, h, no):
        self.h, self.no = h, no

    def __call__(self, batch_size):
        return self.h, self.no

