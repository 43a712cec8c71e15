"""Conditioning inputs of learned layers: the channel state as a network sees it."""
from __future__ import annotations

import math

import tensorflow as tf


def snr_feature(no: tf.Tensor) -> tf.Tensor:
    """[N] noise variance -> [N, 1] SNR / 10 dB = -log10(N0): the input of the noise-adaptation gates.

    Scaled so a Dense sees values in about [-0.7, 0.7] over -7..7 dB.
    """
    return -tf.math.log(tf.reshape(no, [-1, 1])) / math.log(10.0)
