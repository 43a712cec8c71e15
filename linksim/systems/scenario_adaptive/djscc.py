"""DJSCC baseline (Bourtsoulatzé, Kurka, Gündüz 2019) adapted to the MU-MIMO OFDM downlink.

The original is a symmetric convolutional autoencoder for one AWGN/Rayleigh
link: five 5x5 convolutions with PReLU (16 and 32 filters at stride 2, three
of 32 at stride 1) down to 8x8, average power normalisation, and the mirror
image of transposed convolutions ending in a sigmoid.

Adaptation to this link (seed 003 only says "adapted ... same channel
settings and bandwidth constraints"); the choices reproduce Table III's
parameter counts at N_f = 128, which is how they were fixed:

- encoder: the five convolutions (32 filters in the last one), Flatten, then
  a linear Dense to the user's L = 2 N_st N_sf latent (6.39 M weights at
  N_f = 128; Table III: 6.35 M). Power normalisation and grid mapping are
  the common :class:`~linksim.systems.scenario_adaptive.ofdm_map.GridMapper`. It ignores the
  CSI and noise level (no adaptation).
- decoder: the *whole* received grid (2 N_t N_f real values, pilot REs
  included, since DJSCC has no pilot processing) through a Dense+PReLU to
  8x8x32, then the transposed convolutions 32, 32, 32 (stride 1), 16, 3
  (stride 2, sigmoid): 7.45 M weights at N_f = 128; Table III: 7.44 M.
- classification: the same head as the lightweight decoder's
  (:class:`~linksim.systems.scenario_adaptive.decoder.ClassificationHead`) on the 8x8x32
  features, since the paper reports DJSCC accuracy.
- precoding: classical RZF (the system's ``djscc`` variant). Table III lists
  a 0.061 M precoder for DJSCC, i.e. the paper may have used its neural
  precoder there; the variant table in :mod:`linksim.systems.scenario_adaptive.model` makes
  that a one-line change.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from linksim.systems.scenario_adaptive.decoder import ClassificationHead


def _prelu() -> keras.layers.PReLU:
    """PReLU with one slope per channel, as in the original."""
    return keras.layers.PReLU(shared_axes=[1, 2])


@keras.saving.register_keras_serializable("linksim")
class DJSCCEncoder(keras.layers.Layer):
    """Image -> linear latent (module docstring).

    Parameters
    ----------
    latent_dim : int
        L = 2 N_st N_sf real values per user.

    Input
    -----
    images : [N, 32, 32, 3], tf.float32
        Pixels in [0, 1].
    csi : [N, fft_size, num_bs_ant], tf.float32
        Ignored (same signature as :class:`~linksim.systems.scenario_adaptive.encoder.SemanticEncoder`).
    no : [N], tf.float32
        Ignored.

    Output
    ------
    z : [N, latent_dim], tf.float32
    """

    def __init__(self, latent_dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.latent_dim = latent_dim
        layers: list[keras.layers.Layer] = []
        for filters, stride in ((16, 2), (32, 2), (32, 1), (32, 1), (32, 1)):
            layers += [keras.layers.Conv2D(filters, 5, stride, padding="same"), _prelu()]
        layers += [keras.layers.Flatten(), keras.layers.Dense(latent_dim)]
        self.net = keras.Sequential(layers, name="djscc_encoder")

    def call(self, images: tf.Tensor, csi: tf.Tensor, no: tf.Tensor,
             training: bool = False) -> tf.Tensor:
        return self.net(images, training=training)

    def get_config(self) -> dict:
        return {**super().get_config(), "latent_dim": self.latent_dim}


@keras.saving.register_keras_serializable("linksim")
class DJSCCDecoder(keras.layers.Layer):
    """Received grid -> image and class logits (module docstring).

    Parameters
    ----------
    num_classes : int
        Classes of the classification head.

    Input
    -----
    y : [N, num_ofdm_symbols, fft_size], tf.complex64
        One user's received grid.
    pilots : [N, num_ofdm_symbols, fft_size], tf.complex64
        Ignored (DJSCC has no pilot processing).
    no : [N], tf.float32
        Ignored (as the original, the decoder does not know the SNR).

    Output
    ------
    images : [N, 32, 32, 3], tf.float32
    logits : [N, num_classes], tf.float32
    """

    def __init__(self, num_classes: int = 10, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.expand = keras.Sequential([
            keras.layers.Flatten(), keras.layers.Dense(8 * 8 * 32),
            keras.layers.Reshape((8, 8, 32)), _prelu()], name="expand")
        layers: list[keras.layers.Layer] = []
        for filters, stride in ((32, 1), (32, 1), (32, 1), (16, 2)):
            layers += [keras.layers.Conv2DTranspose(filters, 5, stride, padding="same"), _prelu()]
        layers += [keras.layers.Conv2DTranspose(3, 5, 2, padding="same", activation="sigmoid")]
        self.restoration = keras.Sequential(layers, name="djscc_decoder")
        self.classifier = ClassificationHead(num_classes, name="classification")

    def call(self, y: tf.Tensor, pilots: tf.Tensor, no: tf.Tensor | None = None,
             training: bool = False):
        real = tf.concat([tf.math.real(y), tf.math.imag(y)], axis=-1)   # [N, S, 2F]
        features = self.expand(real, training=training)                  # [N, 8, 8, 32]
        return (self.restoration(features, training=training),
                self.classifier(features, training=training))

    def get_config(self) -> dict:
        return {**super().get_config(), "num_classes": self.num_classes}
