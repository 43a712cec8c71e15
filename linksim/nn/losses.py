"""Differentiable image-similarity losses for training (the metrics reported are :mod:`linksim.data.metrics`).

Why not ``tf.image.ssim_multiscale`` in a loss: it raises the contrast-structure
terms (clipped at 0 by a ReLU) to fractional powers, whose gradient at 0 is
infinite: a reconstruction anti-correlated with its image at some scale
(a negative term, as early in training) turns every weight into NaN (seen in
the first JSCBF test runs; tests/test_jscbf.py). :func:`ms_ssim` clamps
the terms at a small positive value instead, and otherwise computes the same
3-scale MS-SSIM as the evaluation (:func:`linksim.data.metrics.ms_ssim`: Gaussian
window, sigma 1.5, K1 = 0.01, K2 = 0.03, the first three Wang et al. 2003
exponents renormalised; the window shrinks to fit the coarsest scale of small images).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

POWER_FACTORS = tuple(w / (0.0448 + 0.2856 + 0.3001) for w in (0.0448, 0.2856, 0.3001))


def _gaussian(size: int, sigma: float = 1.5) -> np.ndarray:
    g = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / sigma) ** 2)
    g = np.outer(g, g)
    return (g / g.sum()).astype(np.float32)


def ms_ssim(a: tf.Tensor, b: tf.Tensor, max_val: float = 1.0, filter_size: int = 7,
            power_factors: tuple[float, ...] = POWER_FACTORS, eps: float = 1e-4) -> tf.Tensor:
    """Per-image MS-SSIM with gradients everywhere (module docstring).

    Input: a, b [N, H, W, C], tf.float32 in [0, max_val].
    Output: [N], tf.float32 in (0, 1].
    """
    scales = len(power_factors)
    coarsest = min(a.shape[1], a.shape[2]) // 2 ** (scales - 1)
    size = min(filter_size, coarsest - (1 - coarsest % 2))        # odd, fits the coarsest map
    c = a.shape[-1]
    kernel = tf.constant(np.tile(_gaussian(size)[:, :, None, None], [1, 1, c, 1]))
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2

    def blur(x):
        return tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "VALID")

    value = 1.0
    for i, w in enumerate(power_factors):
        mu_a, mu_b = blur(a), blur(b)
        var_a = blur(a * a) - mu_a ** 2
        var_b = blur(b * b) - mu_b ** 2
        cov = blur(a * b) - mu_a * mu_b
        cs = tf.reduce_mean((2 * cov + c2) / (var_a + var_b + c2), axis=[1, 2, 3])
        if i == scales - 1:
            lum = (2 * mu_a * mu_b + c1) / (mu_a ** 2 + mu_b ** 2 + c1)
            cs = tf.reduce_mean(lum * (2 * cov + c2) / (var_a + var_b + c2), axis=[1, 2, 3])
        value = value * tf.maximum(cs, eps) ** w
        if i < scales - 1:
            a = tf.nn.avg_pool2d(a, 2, 2, "VALID")
            b = tf.nn.avg_pool2d(b, 2, 2, "VALID")
    return value
