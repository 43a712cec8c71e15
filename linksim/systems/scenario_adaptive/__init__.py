"""Seed 003: the scenario-adaptive MU-MIMO OFDM semantic downlink with an asymmetric network.

One concept per module:
:mod:`~.config` (the ``semantic:`` section: architecture and loss),
:mod:`~.encoder` (BS encoder with noise/scenario adaptation),
:mod:`~.ofdm_map` (grid mapping, pilots, power),
:mod:`~.precoder` (learnable residual RZF),
:mod:`~.decoder` (lightweight pilot-guided UE decoder),
:mod:`~.djscc` (DJSCC baseline),
:mod:`~.model` (the end-to-end model and its :data:`VARIANTS`),
:mod:`~.surgery` (warm starts into grown models),
:mod:`~.complexity` and :mod:`~.throughput` (Table III, training speed).
The channel in the loop and the training channel samplers are shared
(:mod:`linksim.nn.channel`).
"""
from linksim.registry import SYSTEMS
from linksim.systems.base import System
from linksim.systems.scenario_adaptive.config import ScenarioAdaptiveConfig, quick
from linksim.systems.scenario_adaptive.model import (ARCHITECTURE, VARIANTS, SemanticSystem,
                                                     Variant, build_system)
from linksim.systems.scenario_adaptive.surgery import WarmStart

SYSTEM = System(
    name="scenario_adaptive",
    title="Scenario-adaptive semantic MU-MIMO OFDM downlink, asymmetric encoder/decoder",
    paper="seed 003",
    link="mu_mimo_downlink",
    config=ScenarioAdaptiveConfig,
    variants=VARIANTS,
    build=build_system,
    quick=quick,
    warm_start=WarmStart(),
)
SYSTEMS.register("scenario_adaptive", SYSTEM.summary)(SYSTEM)

__all__ = ["ARCHITECTURE", "SYSTEM", "VARIANTS", "ScenarioAdaptiveConfig", "SemanticSystem",
           "Variant", "build_system"]
