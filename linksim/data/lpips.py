"""LPIPS (Zhang et al. 2018, "The unreasonable effectiveness of deep features"), VGG-16 variant.

Seed 000 reports LPIPS beside PSNR and MS-SSIM. The metric needs two sets of
pre-trained weights that cannot be fetched on an offline machine: the VGG-16
backbone and LPIPS' learned per-channel weights of its five feature layers.
This module holds the metric, not the weights: :meth:`LPIPS.from_env` loads
them from the folder that ``LINKSIM_LPIPS_WEIGHTS`` names and returns None
(the metric is then not reported) when it is unset.

The folder holds

- ``vgg16.weights.h5``: the weights of ``keras.applications.VGG16(include_top=False)``
  in Keras' layout (``model.save_weights``). LPIPS' reference backbone is
  torchvision's ImageNet VGG-16, whose conv kernels convert one to one
  (transpose [out, in, kh, kw] -> [kh, kw, in, out]); Keras' own ImageNet
  weights were trained with another input normalisation and give a
  different (not the published) LPIPS;
- ``lin.npz``: five non-negative vectors ``lin0`` ... ``lin4`` of 64, 128,
  256, 512, 512 channel weights (LPIPS v0.1 ``vgg.pth``'s ``linN.model.1.weight``,
  flattened).

Distance, per image pair (x, x0 in [-1, 1] after LPIPS' scaling layer):

    d = sum_l mean_{h,w} sum_c w_l[c] (f̂_l(x)[h,w,c] - f̂_l(x0)[h,w,c])^2,

with f_l the ReLU outputs of conv1_2, conv2_2, conv3_3, conv4_3, conv5_3 and
f̂ unit-normalised over channels. Written here because no TensorFlow/Keras
package ships LPIPS (the reference is PyTorch).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from linksim.data.images import DataError

LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")
"""Keras VGG16 layers (ReLU included) = LPIPS' relu1_2, relu2_2, relu3_3, relu4_3, relu5_3."""
CHANNELS = (64, 128, 256, 512, 512)
SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
SCALE = np.array([0.458, 0.448, 0.450], np.float32)
ENV = "LINKSIM_LPIPS_WEIGHTS"


class LPIPS:
    """LPIPS distance of uint8 image pairs (module docstring).

    Parameters
    ----------
    backbone_weights : str or Path or None
        A ``vgg16.weights.h5`` file; None keeps Keras' random initialisation
        (tests only: the distance is then not LPIPS).
    lin : sequence of 5 arrays
        Per-channel weights of the five layers (:data:`CHANNELS` entries each).

    Input (``__call__``)
    --------------------
    reference, reconstruction : [N, H, W, 3], np.uint8 (H, W >= 16)

    Output
    ------
    [N], np.float64: the distance per image pair (0 for identical images).
    """

    def __init__(self, backbone_weights: str | Path | None, lin) -> None:
        import keras

        lin = [np.asarray(w, np.float32).reshape(-1) for w in lin]
        if [len(w) for w in lin] != list(CHANNELS) or min(float(w.min()) for w in lin) < 0:
            raise DataError(f"LPIPS lin weights: need 5 non-negative vectors of {list(CHANNELS)} "
                            f"entries, got {[len(w) for w in lin]}")
        vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
        if backbone_weights is not None:
            vgg.load_weights(str(backbone_weights))
        self.features = keras.Model(vgg.input, [vgg.get_layer(n).output for n in LAYERS])
        self.lin = lin

    @classmethod
    def from_dir(cls, folder: str | Path) -> "LPIPS":
        """Load ``vgg16.weights.h5`` and ``lin.npz`` from ``folder`` (DataError naming what is missing)."""
        folder = Path(folder)
        backbone, lin = folder / "vgg16.weights.h5", folder / "lin.npz"
        missing = [p.name for p in (backbone, lin) if not p.is_file()]
        if missing:
            raise DataError(f"{ENV}={folder}: no {' or '.join(missing)} there (see linksim.data.lpips)")
        with np.load(lin) as z:
            weights = [z[f"lin{i}"] for i in range(5)]
        return cls(backbone, weights)

    @classmethod
    def from_env(cls) -> "LPIPS | None":
        """The metric from ``$LINKSIM_LPIPS_WEIGHTS``, or None when the variable is unset."""
        folder = os.environ.get(ENV)
        return cls.from_dir(folder) if folder else None

    def __call__(self, reference: np.ndarray, reconstruction: np.ndarray,
                 batch_size: int = 64) -> np.ndarray:
        import tensorflow as tf

        ref, rec = np.asarray(reference), np.asarray(reconstruction)
        if ref.shape != rec.shape or ref.dtype != np.uint8 or rec.dtype != np.uint8 or ref.ndim != 4:
            raise ValueError(f"need two uint8 arrays [N, H, W, 3] of one shape, got "
                             f"{ref.dtype}{list(ref.shape)} and {rec.dtype}{list(rec.shape)}")
        out = []
        for start in range(0, len(ref), batch_size):
            pair = np.concatenate([ref[start:start + batch_size], rec[start:start + batch_size]])
            x = (pair.astype(np.float32) / 127.5 - 1.0 - SHIFT) / SCALE
            feats = self.features(tf.constant(x))
            n = len(pair) // 2
            d = 0.0
            for f, w in zip(feats, self.lin):
                f = f / (tf.sqrt(tf.reduce_sum(f ** 2, -1, keepdims=True)) + 1e-10)
                diff = (f[:n] - f[n:]) ** 2 * w
                d = d + tf.reduce_mean(tf.reduce_sum(diff, -1), [1, 2])
            out.append(np.asarray(d, np.float64))
        return np.concatenate(out) if out else np.zeros(0)
