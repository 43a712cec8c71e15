"""Seed 003's semantic MU-MIMO OFDM system as Keras 3 models on the TensorFlow backend.

One concept per module: :mod:`~linksim.semantic.encoder` (BS encoder with
noise/scenario adaptation), :mod:`~linksim.semantic.ofdm_map` (grid mapping,
pilots, power), :mod:`~linksim.semantic.precoder` (learnable residual RZF),
:mod:`~linksim.semantic.channel` (channel in the loop, channel samplers),
:mod:`~linksim.semantic.decoder` (lightweight pilot-guided UE decoder),
:mod:`~linksim.semantic.djscc` (DJSCC baseline) and
:mod:`~linksim.semantic.system` (the end-to-end model and the
:data:`SEMANTIC_MODELS` registry of variants).
"""
from linksim.semantic.channel import (
    ChannelBank,
    ChannelSampler,
    OFDMChannel,
    OnlineChannels,
    training_sampler,
)
from linksim.semantic.decoder import SemanticDecoder
from linksim.semantic.djscc import DJSCCDecoder, DJSCCEncoder
from linksim.semantic.encoder import SemanticEncoder
from linksim.semantic.ofdm_map import GridMapper
from linksim.semantic.precoder import NeuralPrecoder, rzf_precode
from linksim.semantic.system import SEMANTIC_MODELS, SemanticSystem, Variant, build_system

__all__ = [
    "SEMANTIC_MODELS", "ChannelBank", "ChannelSampler", "DJSCCDecoder", "DJSCCEncoder",
    "GridMapper", "NeuralPrecoder", "OFDMChannel", "OnlineChannels", "SemanticDecoder",
    "SemanticEncoder", "SemanticSystem", "Variant", "build_system", "rzf_precode", "training_sampler",
]
