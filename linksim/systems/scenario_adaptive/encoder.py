"""Scenario-aware semantic encoder at the BS (seed 003, Sec. III-A, Table I).

One encoder, shared by the K users: the images of a slot are encoded one by
one (batch B*K), each conditioned on its own user's channel and on the slot's
noise variance. Block diagram (``call`` reads in this order)::

    image 32x32x3 -> stem Conv(64,3,1)+BN+ReLU                      32x32x64
                  -> ResBlock(64, stride 2)                          16x16x64
                  -> ResBlock(128, stride 2)                         8x8x128
                  -> ResBlock(128, stride 1)                         8x8x128
                  -> x g_noise(N0) x g_scenario(|h_k|)               8x8x128
                  -> Conv(L/64, 3, 1)+ReLU -> Flatten -> Dense(L)+tanh   L = 2 N_st N_sf

Decisions where Table I is garbled or silent (written down here on purpose):

- Table I's first "ResBlock (64,3,1)(64,3,2)" is read as the convolutional stem
  (64,3,1) named in the text followed by a stride-2 residual block; with
  the stride-2 blocks (64) and (128) and the stride-1 block (128) the image
  reaches 8x8, the resolution at which the latent is laid out. A residual
  block is Conv3x3(stride)+BN+ReLU, Conv3x3+BN, plus a 1x1 Conv+BN shortcut
  when the shape changes, then ReLU (He et al. 2016).
- The latent layer "Conv2D (N_sf N_st N_k / 64, 3, 1)" followed by
  "Dense+Tanh N_sf N_st N_k 2" is read per user (the encoder is shared,
  N_k in the table stands for the factor 2 of real/imaginary parts): a
  Conv with ceil(L/64) filters, so 8x8 positions hold L values, then a
  Dense to the L = 2 N_st N_sf real latent values of the user. At N_f = 128
  (L = 3072, 48 filters) this gives 10.10 M weights without and 10.12 M with
  the adaptation modules, Table III's 10.10 M (RZF variant) and 10.13 M
  (Full), which supports the reading. A ReLU follows the latent Conv (two
  linear maps in a row would only be a factorised Dense).
- Noise adaptation: Dense(128)+sigmoid of SNR/10 dB = -log10(N0), one gate
  per feature channel (scaled inputs keep the Dense in its useful range over
  -7..7 dB). Scenario adaptation: Conv1D(16,5,2)+ReLU, Conv1D(32,5,2)+ReLU
  over the magnitude spectrum |h_k| of the user's own channel (subcarriers
  as time axis, the M BS antennas as channels, averaged over the slot's OFDM
  symbols), global average pooling, Dense(64)+ReLU, Dense+sigmoid giving one
  gate per feature channel (Table I's "64" for that last Dense cannot scale
  the 128-channel features, so it outputs as many gates as channels). Both
  gates multiply the 8x8x128 features after the last residual block.
- ``latent="conv"`` (not the paper; ``semantic.latent``) drops the Dense:
  the latent Conv (tanh) *is* the latent, its 8x8 positions laid on the grid
  subcarrier by subcarrier, the order in which the decoder folds the
  received grid back to 8x8 (:func:`linksim.systems.scenario_adaptive.decoder.fold_grid`), so
  an image region travels on a block of neighbouring subcarriers and
  arrives at the decoder position it left, as in a fully convolutional
  JSCC. The paper's Dense (10 M of the encoder's weights at N_f = 128) has
  to learn that layout from scratch.
- ``width`` scales the residual trunk (64/128 channels -> 64w/128w): the
  paper's trunk is the dominant training cost on a CPU (about 57 M
  multiply-adds per image forward, 60 % of a training step at N_f = 32);
  width 0.5 divides it by about three (see :mod:`linksim.systems.scenario_adaptive.throughput`).
- ``pixel_path`` (not the paper; conv latent only) adds a 1x1 convolution of
  the image's 4x4 pixel blocks (space-to-depth, 8x8x48, centred) to the
  latent before its tanh, and the UE decoder a matching path back
  (:class:`~linksim.systems.scenario_adaptive.decoder.SemanticDecoder`). Why: evaluated
  at SNRs up to 40 dB (results/fig9_psnr/high_snr), the N_f = 128 model of
  results/README.md peaks at 30.1 dB, 1.0 dB above its 7 dB figure and
  below the 31 dB target, though its latent has as many real values as the
  image has pixel values: the architecture, not the channel, caps it. The
  trunk reaches the latent through three strided convolutions; a linear
  path lets the encoder send a block's pixels (or a linear code of them)
  as they are, which at high SNR and bandwidth is what an uncoded analog
  scheme does well. Both paths
  start at zero, so a model grown with them computes what it did before
  (``linksim.systems.scenario_adaptive.model.grow_into``).
"""
from __future__ import annotations

import math
from typing import Literal

import keras
import tensorflow as tf

from linksim.nn.conditioning import snr_feature
from linksim.nn.norm import BatchNorm, zero_scale_and_shift


def latent_from_fold_order(z: tf.Tensor, fft_size: int) -> tf.Tensor:
    """[N, 8, 8, L/64] laid out as the decoder folds a grid -> [N, L] in GridMapper's order.

    The 8x8 positions (row-major) hold consecutive subcarriers, each
    subcarrier's values its data symbols in time order as (real, imaginary)
    pairs -- :func:`linksim.systems.scenario_adaptive.decoder.fold_grid`'s order without the
    pilot REs. GridMapper wants real parts, then imaginary parts, OFDM symbol
    by symbol. The pilot symbols (2 and 11) split a subcarrier's 14 symbols
    into halves of 6 data symbols each, so at N_f = 32 (a position = half a
    subcarrier) positions still coincide with the decoder's.
    """
    latent_dim = z.shape[1] * z.shape[2] * z.shape[3]
    z = tf.reshape(z, [-1, fft_size, latent_dim // (2 * fft_size), 2])   # [N, F, N_st, re/im]
    return tf.reshape(tf.transpose(z, [0, 3, 2, 1]), [-1, latent_dim])


def trunk_channels(width: float) -> tuple[int, int]:
    """The residual trunk's two channel counts (the paper's 64 and 128) at ``width``."""
    return max(1, round(64 * width)), max(1, round(128 * width))


@keras.saving.register_keras_serializable("linksim")
class ResidualBlock(keras.layers.Layer):
    """Conv3x3(stride)+BN+ReLU, Conv3x3+BN, shortcut (1x1 Conv+BN if needed), ReLU.

    Input: [N, H, W, C_in], tf.float32. Output: [N, H/stride, W/stride, filters], tf.float32.
    """

    def __init__(self, filters: int, stride: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.filters = filters
        self.stride = stride
        self.conv1 = keras.layers.Conv2D(filters, 3, stride, padding="same", use_bias=False)
        self.bn1 = BatchNorm()
        self.conv2 = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)
        self.bn2 = BatchNorm()
        self.project: keras.Sequential | None = None

    def build(self, input_shape) -> None:
        if input_shape[-1] != self.filters or self.stride != 1:
            self.project = keras.Sequential([
                keras.layers.Conv2D(self.filters, 1, self.stride, use_bias=False),
                BatchNorm()], name="project")

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        y = tf.nn.relu(self.bn1(self.conv1(x), training=training))
        y = self.bn2(self.conv2(y), training=training)
        shortcut = x if self.project is None else self.project(x, training=training)
        return tf.nn.relu(y + shortcut)

    def start_as_identity(self) -> None:
        """Zero the branch's last BN scale and shift: a non-negative input then passes unchanged.

        Only for a block without projection (same width, stride 1).
        """
        if self.project is not None:
            raise ValueError("a block with a projection shortcut cannot start as an identity")
        zero_scale_and_shift(self.bn2)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "stride": self.stride}


@keras.saving.register_keras_serializable("linksim")
class SemanticEncoder(keras.layers.Layer):
    """Images -> per-user latent, with noise and scenario adaptation (module docstring).

    Parameters
    ----------
    latent_dim : int
        L = 2 N_st N_sf real values per user.
    adaptive : bool
        Use the noise and scenario adaptation gates (False: the RZF variant).
    width : float
        Multiplier of the residual trunk's channels (1.0: the paper).
    latent : "dense" | "conv"
        The paper's Conv+Flatten+Dense latent layer, or the Conv alone laid out
        in the decoder's fold order (module docstring); "conv" needs
        latent_dim divisible by 64.
    pixel_path : bool
        Add a linear map of the image's 4x4 pixel blocks to the latent (module
        docstring; conv latent only).

    Input
    -----
    images : [N, 32, 32, 3], tf.float32
        Pixels in [0, 1].
    csi : [N, fft_size, num_bs_ant], tf.float32
        |h_k| of each image's user, averaged over the slot's OFDM symbols.
    no : [N], tf.float32
        Noise variance of each image's slot.

    Output
    ------
    z : [N, latent_dim], tf.float32
        Latent in (-1, 1), real parts then imaginary parts of the user's symbols.
    """

    def __init__(self, latent_dim: int, adaptive: bool = True, width: float = 1.0,
                 latent: Literal["dense", "conv"] = "dense", pixel_path: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if latent == "conv" and latent_dim % 64:
            raise ValueError(f"latent 'conv' lays {latent_dim} values on 8 x 8 positions; "
                             "needs a multiple of 64 (fft_size a multiple of 8)")
        if pixel_path and latent != "conv":
            raise ValueError("pixel_path needs latent 'conv'")
        self.pixel_path = pixel_path
        self.latent_dim = latent_dim
        self.adaptive = adaptive
        self.width = width
        self.latent = latent
        c64, c128 = trunk_channels(width)
        self.stem = keras.Sequential([
            keras.layers.Conv2D(c64, 3, padding="same", use_bias=False),
            BatchNorm(), keras.layers.ReLU()], name="stem")
        self.blocks = [ResidualBlock(c64, 2), ResidualBlock(c128, 2), ResidualBlock(c128, 1)]
        if adaptive:
            self.noise_gate = keras.layers.Dense(c128, activation="sigmoid", name="noise_gate")
            self.scenario_gate = keras.Sequential([
                keras.layers.Conv1D(16, 5, 2, padding="same", activation="relu"),
                keras.layers.Conv1D(32, 5, 2, padding="same", activation="relu"),
                keras.layers.GlobalAveragePooling1D(),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(c128, activation="sigmoid")], name="scenario_gate")
        self.pixel_latent: keras.layers.Conv2D | None = None
        if latent == "conv":
            # with the pixel path the tanh comes after the sum, in call (same weights)
            self.to_latent = keras.Sequential([
                keras.layers.Conv2D(latent_dim // 64, 3, padding="same",
                                    activation=None if pixel_path else "tanh")],
                name="to_latent")
            if pixel_path:
                self.pixel_latent = keras.layers.Conv2D(latent_dim // 64, 1, use_bias=False,
                                                        kernel_initializer="zeros",
                                                        name="pixel_latent")
        else:
            self.to_latent = keras.Sequential([
                keras.layers.Conv2D(math.ceil(latent_dim / 64), 3, padding="same", activation="relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(latent_dim, activation="tanh")], name="to_latent")

    def call(self, images: tf.Tensor, csi: tf.Tensor, no: tf.Tensor,
             training: bool = False) -> tf.Tensor:
        f = self.stem(images, training=training)
        for block in self.blocks:
            f = block(f, training=training)
        if self.adaptive:
            gate = self.noise_gate(snr_feature(no)) * self.scenario_gate(csi, training=training)
            f = f * gate[:, None, None, :]
        z = self.to_latent(f, training=training)
        if self.pixel_latent is not None:
            blocks = tf.nn.space_to_depth(images - 0.5, 4)                       # [N, 8, 8, 48]
            z = tf.tanh(z + self.pixel_latent(blocks))
        return z if self.latent == "dense" else latent_from_fold_order(z, csi.shape[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "adaptive": self.adaptive, "width": self.width, "latent": self.latent,
                "pixel_path": self.pixel_path}
