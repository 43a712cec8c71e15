"""Transmit power normalisation of complex signals (shared by learned transmitters and receivers).

- :func:`clip_energy`: seed 000 eq. 29, X = min(sqrt(E), ||X||_F) X / ||X||_F,
  the energy constraint ||X||_F^2 <= E of eq. 7 (a signal below the budget is
  left as it is);
- :func:`unit_mean_power`: scale to mean |x|^2 = 1 over the given axes (the
  power normalisation of deep JSCC encoders, and a receiver's gain control).
"""
from __future__ import annotations

import tensorflow as tf


def _energy(x: tf.Tensor, axes) -> tf.Tensor:
    return tf.reduce_sum(tf.square(tf.abs(x)), axis=axes, keepdims=True)


def clip_energy(x: tf.Tensor, energy, axes) -> tf.Tensor:
    """x scaled down where ||x||^2 over ``axes`` exceeds ``energy`` (seed 000 eq. 29).

    Input: x [...], tf.complex; energy scalar or broadcastable to the reduced
    shape, tf.float; axes: the axes of one transmission (e.g. subcarriers,
    antennas, symbols of one slot).
    Output: same shape as x, ||x||^2 over ``axes`` <= energy.
    """
    e = _energy(x, axes)
    scale = tf.sqrt(tf.minimum(1.0, tf.cast(energy, e.dtype) / tf.maximum(e, 1e-12)))
    return x * tf.cast(scale, x.dtype)


def unit_mean_power(x: tf.Tensor, axes) -> tf.Tensor:
    """x / sqrt(mean |x|^2 over ``axes``).

    Input: x [...], tf.complex.  Output: same shape, mean |x|^2 = 1 over ``axes``.
    """
    e = _energy(x, axes)
    n = tf.cast(tf.size(x) // tf.size(e), e.dtype)               # elements per reduced group
    scale = tf.math.rsqrt(e / n + 1e-12)
    return x * tf.cast(scale, x.dtype)
