"""Point-to-point MIMO channel estimation from pilots sent with the codewords (seed 002 eqs. 3, 9, 10).

The transmitter sends N_T known pilot vectors, the columns of
τ in C^{N_T x N_T}, each with the total power P of a data channel use
(:func:`p2p_pilots`: τ = sqrt(P / N_T) F, F the N_T-point DFT matrix, so
τ τ^H = P I). The receiver sees τ̂ = h τ + n (:func:`send_pilots`, eq. 9) and
the least-squares estimate is h_LS = τ̂ τ^{-1} (:class:`LSP2PEstimator`,
eq. 10), whose error per entry is CN(0, N0 / P): its NMSE on channels of unit
energy per entry is N0 / P (:func:`ls_nmse`).

The estimators of ``P2P_ESTIMATORS`` all take ``(num_rx_ant, num_tx_ant,
power, **options)`` and are called ``(y_pilots, no)``. ``ls`` is here (a
Sionna block, no weights); ``npn``, the learned noise-purified network of
seed 002, is :mod:`linksim.nn.npn` (a Keras layer that starts from this LS
estimate). Written for linksim (Sionna has no point-to-point pilot estimator).
"""
from __future__ import annotations

import numpy as np
import sionna
import tensorflow as tf
from sionna.phy import Block

from linksim.registry import P2P_ESTIMATORS


def p2p_pilots(num_tx_ant: int, power: float) -> np.ndarray:
    """τ [N_T, N_T] complex64: sqrt(P / N_T) times the DFT matrix (unit-modulus entries), τ τ^H = P I."""
    n = np.arange(num_tx_ant)
    dft = np.exp(-2j * np.pi * np.outer(n, n) / num_tx_ant)
    return (np.sqrt(power / num_tx_ant) * dft).astype(np.complex64)


def send_pilots(h: tf.Tensor, pilots: tf.Tensor, no: tf.Tensor) -> tf.Tensor:
    """τ̂ = h τ + n (eq. 9), n ~ CN(0, N0) per entry from Sionna's generator.

    Input: h [B, N_R, N_T] complex64; pilots [N_T, N_T] complex64; no [B] float32.
    Output: y_pilots [B, N_R, N_T] complex64.
    """
    y = tf.matmul(h, tf.cast(pilots, h.dtype))
    std = tf.sqrt(tf.cast(no, tf.float32) / 2.0)[:, None, None]
    rng = sionna.phy.config.tf_rng
    return y + tf.complex(rng.normal(tf.shape(y)) * std, rng.normal(tf.shape(y)) * std)


def ls_estimate(y_pilots: tf.Tensor, pilots: tf.Tensor) -> tf.Tensor:
    """h_LS = τ̂ τ^{-1} (eq. 10).  Input: [B, N_R, N_T], [N_T, N_T] complex.  Output: [B, N_R, N_T]."""
    inverse = tf.linalg.inv(tf.cast(pilots, tf.complex128))
    return tf.matmul(y_pilots, tf.cast(inverse, y_pilots.dtype))


def nmse(h_hat: tf.Tensor, h: tf.Tensor) -> tf.Tensor:
    """E||ĥ - h||^2 / E||h||^2 over the batch (scalar float32)."""
    err = tf.reduce_sum(tf.abs(h_hat - h) ** 2)
    return err / tf.maximum(tf.reduce_sum(tf.abs(h) ** 2), 1e-30)


def ls_nmse(no: float, power: float) -> float:
    """The LS estimate's expected NMSE on unit-energy entries: N0 / P."""
    return no / power


@P2P_ESTIMATORS.register("ls", "least squares from the N_T x N_T DFT pilots, h = y τ^-1 (seed 002 eq. 10)")
class LSP2PEstimator(Block):
    """Least-squares P2P MIMO estimate (eq. 10).

    Parameters
    ----------
    num_rx_ant, num_tx_ant : int
        N_R, N_T.
    power : float
        P, the pilots' power per channel use (:func:`p2p_pilots`).

    Input
    -----
    y_pilots : [batch_size, num_rx_ant, num_tx_ant], tf.complex64
        The received pilots τ̂.
    no : [batch_size], tf.float32
        Noise variance (unused by LS).

    Output
    ------
    h_hat : [batch_size, num_rx_ant, num_tx_ant], tf.complex64
    """

    def __init__(self, num_rx_ant: int, num_tx_ant: int, power: float, precision=None, **options):
        super().__init__(precision=precision)
        self.pilots = tf.constant(p2p_pilots(num_tx_ant, power))

    def call(self, y_pilots, no=None):
        return ls_estimate(y_pilots, self.pilots)
