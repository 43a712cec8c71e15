"""The ``semantic:`` section of seed 003's system: architecture and loss on top of the shared training keys."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from linksim.config.schema import SemanticConfig
from linksim.systems.base import arch_field


class ScenarioAdaptiveConfig(SemanticConfig):
    """Seed 003: which variant, its size and loss weight (plus :class:`SemanticConfig`'s training keys).

    ``encoder_width`` scales the BS encoder's residual trunk, the dominant
    training cost on a CPU (1.0: the paper's encoder, 10.1 M weights at
    N_f = 128; 0.5 trains about twice as fast). Every field made with
    :func:`~linksim.systems.base.arch_field` is architecture: a trained model
    is rebuilt with it (``state.json`` records it).
    """

    encoder_width: float = arch_field(1.0, shapes_weights=True, grow="double", label="enc_width={}",
                                      gt=0, le=4, description="BS encoder trunk channel multiplier")
    decoder_width: float = arch_field(1.0, shapes_weights=True, grow="double", label="dec_width={}",
                                      gt=0, le=4, description="UE decoder channel multiplier")
    latent: Literal["dense", "conv"] = arch_field(
        "dense", shapes_weights=True, label="latent={}",
        description="encoder latent layer: the paper's Conv+Dense, or a Conv laid on the grid in "
                    "the decoder's order (linksim.systems.scenario_adaptive.encoder)")
    decoder_blocks: int = arch_field(
        0, shapes_weights=True, grow="more", label="decoder_blocks={}", ge=0, le=8,
        description="residual blocks at 8x8 in the UE decoder (0: the paper)")
    pixel_path: bool = arch_field(
        False, shapes_weights=True, grow="add",
        description="a learned linear path from 4x4 pixel blocks into the latent and from the UE "
                    "decoder's 8x8 features to 4x4 pixel blocks (False: the paper; latent: conv only)")
    csi_error: float = arch_field(
        0.0, shapes_weights=False, label="csi_error={}", ge=0, le=1,
        description="normalised error of the BS's channel knowledge: it sees sqrt(1-e) H + "
                    "sqrt(e) H', H' an independent realisation (0: perfect CSI, the paper)")
    head_width: float | None = arch_field(
        None, shapes_weights=True, grow="fresh", label="head_width={}", gt=0, le=8,
        description="channel multiplier of the UE's classification head (None: decoder_width, "
                    "the paper's head); a warm start to another value starts the head afresh")
    ce_weight: float = arch_field(0.001, shapes_weights=False, label="lambda={}", ge=0,
                                  description="lambda in the loss MSE + lambda CE")

    stages: tuple[Literal["train", "head"], ...] = Field(
        ("train",), min_length=1,
        description="training schedule: train (end to end, the paper) and/or head (only the UE's "
                    "classification head, on the frozen transceiver: reconstructions unchanged)")

    @field_validator("stages")
    @classmethod
    def _distinct_stages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("stages must be distinct")
        return value

    @field_validator("pixel_path")
    @classmethod
    def _pixel_path_needs_conv_latent(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("latent") != "conv":
            raise ValueError("needs latent: conv (the path adds to the latent's 8x8 positions)")
        return value

    @field_validator("image_size")
    @classmethod
    def _cifar_size(cls, value: int) -> int:
        if value != 32:
            raise ValueError("seed 003's encoder and decoder are built for 32x32 images (allowed: 32)")
        return value


QUICK = {"encoder_width": 0.25, "decoder_width": 0.5}
"""Smoke-test widths (upper bounds) of ``linksim train --quick``."""


def quick(cfg: ScenarioAdaptiveConfig) -> ScenarioAdaptiveConfig:
    """A narrow copy for smoke tests: widths capped by :data:`QUICK`."""
    return cfg.model_copy(update={k: min(getattr(cfg, k), v) for k, v in QUICK.items()})
