"""Seed 000: deep joint semantic coding and beamforming (JSCBF) for an airship-borne massive MIMO OFDM downlink.

One concept per module:
:mod:`~.config` (the ``semantic:`` section: widths, Q, unfolded layers, CSI, loss),
:mod:`~.networks` (Swin image encoder/decoder, CSI extractor, semantic fusion),
:mod:`~.beamforming` (data-driven and unfolded-WMMSE beamformers),
:mod:`~.model` (the end-to-end model, its :data:`VARIANTS` and training stages),
:mod:`~.surgery` (same-architecture warm starts between stages),
:mod:`~.throughput` (training speed, paper-width cost).
Shared blocks: :mod:`linksim.nn.swin`, :mod:`linksim.nn.transformer`,
:mod:`linksim.nn.power`, :mod:`linksim.nn.channel`; PHY: :mod:`linksim.phy.wmmse`,
:mod:`linksim.phy.sounding`, the ``sparse_multipath`` channel.
"""
from linksim.registry import SYSTEMS
from linksim.systems.base import System
from linksim.systems.jscbf.config import JSCBFConfig, quick
from linksim.systems.jscbf.model import (ARCHITECTURE, VARIANTS, JSCBFSystem, Variant,
                                         build_system, stages)
from linksim.systems.jscbf.surgery import WARM_START
from linksim.systems.jscbf.throughput import benchmark

SYSTEM = System(
    name="jscbf",
    title="Deep joint semantic coding and beamforming, massive MIMO OFDM downlink",
    paper="seed 000",
    link="mu_mimo_downlink",
    config=JSCBFConfig,
    variants=VARIANTS,
    build=build_system,
    quick=quick,
    stages=stages,
    warm_start=WARM_START,
    benchmark=benchmark,
)
SYSTEMS.register("jscbf", SYSTEM.summary)(SYSTEM)

__all__ = ["ARCHITECTURE", "SYSTEM", "VARIANTS", "JSCBFConfig", "JSCBFSystem", "Variant",
           "build_system", "stages"]
