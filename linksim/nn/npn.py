"""Seed 002's noise purified network (NPN, Sec. III-B, Fig. 6, eqs. 11-12): a learned P2P MIMO channel estimator.

The paper's contribution, written here from its text (no public code): the
coarse LS estimate h_LS = τ̂ τ^{-1} (:mod:`linksim.phy.p2p_estimation`) is
treated as a noisy 2-channel N_R x N_T image and purified by a small U-Net
whose skip connection is NBNet's subspace attention (SSA, Cheng et al. 2021):

- encoder: two 3x3 convolutions (``width`` channels) -> X_1; 2x2 average
  pooling, two 3x3 convolutions (2 ``width``);
- decoder: nearest upsampling back to N_R x N_T, a 3x3 convolution -> X_2;
- SSA (eqs. 11-12): a residual convolutional network on [X_1, X_2] gives
  ``basis`` vectors V_b in R^{N x K} (N = N_R N_T positions); X_1 is projected
  on their span, Y = V_b (V_b^T V_b)^{-1} V_b^T X_1 (a small ridge keeps the
  inverse defined);
- [Y, X_2] -> two 3x3 convolutions -> 2 channels d, and h_e = h_LS + sqrt(N0 / P) d
  (residual learning: the network predicts the LS error in units of its
  standard deviation, so the correction fades as the SNR grows; without that
  scale, the short trainings here left h_e *worse* than LS at 20 dB, the
  correction's own error floor above LS's N0 / P).

The input carries a third channel, the SNR (-log10 N0, Algorithm 1 lists the
channel SNR among the inputs): how much to shrink an LS estimate depends on
how noisy it is. Pre-training (Algorithm 1) is the MSE between h_e and the
true h over channel samples at random SNRs (:func:`npn_pretrain_step`); in
the LCFSC system the NPN is then trained jointly
(:mod:`linksim.systems.lcfsc.model`).

Registered as ``npn`` in :data:`linksim.registry.P2P_ESTIMATORS`, with the
interface of the LS block, so any P2P system can use it.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from linksim.nn.conditioning import snr_feature
from linksim.nn.swin import LazyBuild
from linksim.phy.p2p_estimation import ls_estimate, p2p_pilots, send_pilots
from linksim.registry import P2P_ESTIMATORS


def _conv(channels: int, name: str, activation: str | None = "gelu") -> keras.layers.Layer:
    return keras.layers.Conv2D(channels, 3, padding="same", activation=activation, name=name)


@keras.saving.register_keras_serializable("linksim")
class SubspaceAttention(LazyBuild, keras.layers.Layer):
    """NBNet's subspace attention (eqs. 11-12): project X_1 onto K basis vectors learned from [X_1, X_2].

    Input: x1, x2 [B, H, W, C], tf.float32.
    Output: y [B, H, W, C], tf.float32 (X_1 projected on span(V_b)).
    """

    def __init__(self, basis: int, ridge: float = 1e-4, **kwargs) -> None:
        super().__init__(**kwargs)
        self.basis, self.ridge = basis, ridge
        self.conv1 = _conv(basis, "basis1")
        self.conv2 = _conv(basis, "basis2", None)
        self.skip = keras.layers.Conv2D(basis, 1, name="basis_skip")

    def call(self, x1: tf.Tensor, x2: tf.Tensor) -> tf.Tensor:
        x = tf.concat([x1, x2], axis=-1)
        v = self.skip(x) + self.conv2(self.conv1(x))                        # f_θ, eq. 11: [B, H, W, K]
        shape = tf.shape(x1)
        n = shape[1] * shape[2]
        v = tf.reshape(v, [-1, n, self.basis])                              # V_b [B, N, K]
        x1f = tf.reshape(x1, [-1, n, x1.shape[-1]])                         # [B, N, C]
        gram = tf.matmul(v, v, transpose_a=True) + self.ridge * tf.eye(self.basis)
        coef = tf.linalg.solve(gram, tf.matmul(v, x1f, transpose_a=True))   # (V^T V)^-1 V^T X_1
        return tf.reshape(tf.matmul(v, coef), shape)                        # eq. 12

    def get_config(self) -> dict:
        return {**super().get_config(), "basis": self.basis, "ridge": self.ridge}


@P2P_ESTIMATORS.register("npn", "noise purified network: LS, then a U-Net with subspace attention "
                                "(seed 002 Sec. III-B; learned, pre-train it first)")
@keras.saving.register_keras_serializable("linksim")
class NoisePurifiedNetwork(LazyBuild, keras.layers.Layer):
    """B_Υ(τ, τ̂) of eq. 3: LS estimate purified by the U-Net with subspace attention (module docstring).

    Parameters
    ----------
    num_rx_ant, num_tx_ant : int
        N_R, N_T.
    power : float
        P, the pilots' power (:func:`linksim.phy.p2p_estimation.p2p_pilots`).
    width : int
        Channels of the first U-Net level (the second has twice as many).
    basis : int
        K, the subspace attention's basis vectors.

    Input
    -----
    y_pilots : [batch_size, num_rx_ant, num_tx_ant], tf.complex64
        Received pilots τ̂ = h τ + n.
    no : [batch_size], tf.float32
        Noise variance of the pilots.

    Output
    ------
    h_e : [batch_size, num_rx_ant, num_tx_ant], tf.complex64
    """

    def __init__(self, num_rx_ant: int, num_tx_ant: int, power: float, width: int = 16,
                 basis: int = 4, **kwargs) -> None:
        super().__init__(**kwargs)
        self.args = dict(num_rx_ant=num_rx_ant, num_tx_ant=num_tx_ant, power=power, width=width,
                         basis=basis)
        self.pilots = tf.constant(p2p_pilots(num_tx_ant, power))
        self.enc1 = [_conv(width, "enc1a"), _conv(width, "enc1b")]
        self.enc2 = [_conv(2 * width, "enc2a"), _conv(2 * width, "enc2b")]
        self.dec1 = _conv(width, "dec1")
        self.ssa = SubspaceAttention(basis, name="ssa")
        self.out = [_conv(width, "out1"), _conv(2, "out2", None)]

    def call(self, y_pilots: tf.Tensor, no: tf.Tensor) -> tf.Tensor:
        h_ls = ls_estimate(y_pilots, self.pilots)
        n_r, n_t = self.args["num_rx_ant"], self.args["num_tx_ant"]
        snr = tf.broadcast_to(snr_feature(no)[:, None, None, :], [tf.shape(h_ls)[0], n_r, n_t, 1])
        x = tf.concat([tf.math.real(h_ls)[..., None], tf.math.imag(h_ls)[..., None], snr], -1)
        x1 = self.enc1[1](self.enc1[0](x))                                  # X_1 [B, N_R, N_T, c]
        e2 = tf.nn.avg_pool2d(x1, 2, 2, "SAME")
        e2 = self.enc2[1](self.enc2[0](e2))                                 # [B, N_R/2, N_T/2, 2c]
        up = tf.repeat(tf.repeat(e2, 2, axis=1), 2, axis=2)[:, :n_r, :n_t]
        x2 = self.dec1(up)                                                  # X_2 [B, N_R, N_T, c]
        y = self.ssa(x1, x2)
        d = self.out[1](self.out[0](tf.concat([y, x2], -1)))                # [B, N_R, N_T, 2]
        sigma = tf.sqrt(no / self.args["power"])[:, None, None]             # LS error std
        return h_ls + tf.cast(sigma, h_ls.dtype) * tf.complex(d[..., 0], d[..., 1])

    def get_config(self) -> dict:
        return {**super().get_config(), **self.args}


def npn_pretrain_step(npn: NoisePurifiedNetwork, optimizer, h: tf.Tensor, no: tf.Tensor) -> tf.Tensor:
    """One step of Algorithm 1: pilots through ``h`` at noise ``no``, LS, NPN, MSE, Adam.

    Input: h [B, N_R, N_T] complex64 (channel samples); no [B] float32.
    Output: the batch's MSE E|h_e - h|^2 (scalar float32), before the update.
    """
    y = send_pilots(h, npn.pilots, no)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.abs(npn(y, no) - h) ** 2)
    grads = tape.gradient(loss, npn.trainable_variables)
    optimizer.apply(grads, npn.trainable_variables)
    return loss
