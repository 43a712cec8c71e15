"""Warm starts for JSCBF: load a trained model of the same architecture (stage to stage, ``--init-from``).

JSCBF grows nothing, so a source must have the same weight-shaping settings
and grid (:class:`~linksim.systems.checkpoints.SameArchitectureWarmStart`).
"""
from __future__ import annotations

from linksim.systems.checkpoints import SameArchitectureWarmStart
from linksim.systems.jscbf.model import ARCHITECTURE

WARM_START = SameArchitectureWarmStart("jscbf", ARCHITECTURE, grid=("fft_size", "num_users"))
"""JSCBF's warm-start policy: same architecture, same ``fft_size`` and ``num_users``."""
