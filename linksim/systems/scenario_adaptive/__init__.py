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
from linksim.systems.base import Stage, System
from linksim.systems.scenario_adaptive.config import ScenarioAdaptiveConfig, quick
from linksim.systems.scenario_adaptive.model import (ARCHITECTURE, VARIANTS, SemanticSystem,
                                                     Variant, build_system)
from linksim.systems.scenario_adaptive.surgery import WarmStart

def freeze_all_but_the_head(model: SemanticSystem, cfg: ScenarioAdaptiveConfig) -> None:
    """The ``head`` stage: only the UE's classification head learns; everything it reads is frozen.

    Why: with lambda = 0.001 the joint training spends the shared features on
    the reconstruction (the paper's headline), and the head on top of them
    learns slowly (results/fig11_accuracy). Training the head alone, on the
    frozen encoder, precoder and decoder body, cannot move a reconstruction
    (frozen batch norms keep their statistics, :class:`linksim.nn.norm.BatchNorm`),
    so whatever accuracy it adds costs 0 dB of PSNR. The loss becomes the
    cross-entropy alone (lambda = 1: the MSE term has no trainable weight
    left, and lambda = 0.001 would shrink the head's gradients towards Adam's
    epsilon, measured: a fresh head stayed at chance for an epoch).
    """
    model.ce_weight = 1.0
    model.trainable = True
    for part in (model.encoder, model.precoder, model.mapper, model.channel):
        part.trainable = False
    for layer in model.decoder._flatten_layers(include_self=False, recursive=False):
        layer.trainable = layer is model.decoder.classifier


def stages(cfg: ScenarioAdaptiveConfig) -> tuple[Stage, ...]:
    """``semantic.stages``: end to end (``train``), then optionally the head alone (``head``)."""
    table = {"train": Stage("train"), "head": Stage("head", prepare=freeze_all_but_the_head)}
    return tuple(table[name] for name in cfg.stages)


SYSTEM = System(
    name="scenario_adaptive",
    title="Scenario-adaptive semantic MU-MIMO OFDM downlink, asymmetric encoder/decoder",
    paper="seed 003",
    link="mu_mimo_downlink",
    config=ScenarioAdaptiveConfig,
    variants=VARIANTS,
    build=build_system,
    quick=quick,
    stages=stages,
    warm_start=WarmStart(),
)
SYSTEMS.register("scenario_adaptive", SYSTEM.summary)(SYSTEM)

__all__ = ["ARCHITECTURE", "SYSTEM", "VARIANTS", "ScenarioAdaptiveConfig", "SemanticSystem",
           "Variant", "build_system"]
