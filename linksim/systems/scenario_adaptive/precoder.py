"""Hybrid learnable residual RZF precoder (seed 003, Sec. III-B, Fig. 4).

X = V S + dX, then normalisation to the transmit power P, where

- V = H^H (H H^H + alpha sigma^2 I)^-1 per resource element (eq. 7), with
  the same column normalisation as :class:`linksim.phy.precoding.RZF`
  (which wraps Sionna's ``rzf_precoding_matrix``): unit-norm columns, then
  sqrt(P/K) so the K streams share the transmit power P of
  ``precoder.power`` (:func:`linksim.phy.precoding.transmit_power`);
- alpha is learnable and positive, alpha = softplus(a), initialised to 1 so
  the coarse precoder *is* classical RZF with the noise variance as
  regulariser (the default of ``linksim.phy.precoding.RZF``);
- dX = F_p([V S, H]) (eq. 8) is a small CNN over the (OFDM symbol,
  subcarrier) grid whose channels are the real and imaginary parts of the
  coarse antenna signals (2M) and of the CSI (2KM): Conv(64,3)+BN+ReLU,
  Conv(64,3)+BN+ReLU, Conv(2M,1). With K = M = 4 that is 61 064 weights,
  Table III's 0.061 M, which confirms this reading of the garbled Table I
  ("OFDM Map" rows). The last convolution starts at zero, so at
  initialisation the whole precoder equals classical RZF followed by the
  power normalisation, and training departs from a known-good point.

Why the matrix algebra is written out: V is needed for every slot, OFDM
symbol and subcarrier (B x 14 x N_f tiny K x K systems). The Cholesky
factorisation and the two triangular solves are unrolled over K with
elementwise ops on [B, S, F] tensors. That is a little faster than Sionna's
batched ``tf.linalg`` version (forward + backward, 64 slots at N_f = 32:
95 against 128 ms of CPU time) and, unlike ``tf.linalg.cholesky`` outside
XLA, it never raises: with alpha = 0 (ZF) and a singular H H^H a pivot is
zero or negative, and NaN/Inf propagate to the output and the loss -- the
collapse of the paper's Fig. 10, which the training loop can then report as
a result. (On the normalised 4 x 4 38.901 channels of this project the
condition number of H has a median of 7, but its tail over single REs
reaches the float32 limit: ``linksim stats`` counts the REs beyond it. The
training experiment of results/README.md, Fig. 10, shows what that does to
ZF training.)
"""
from __future__ import annotations

import math
from typing import Literal

import keras
import tensorflow as tf

from linksim.config import Scenario
from linksim.phy.precoding import transmit_power
from linksim.nn.scenario_layer import ScenarioLayer
from linksim.nn.norm import BatchNorm

Regulariser = Literal["learnable", "noise", "zero"]


def rzf_precode(h: tf.Tensor, s: tf.Tensor, reg: tf.Tensor, power: float = 1.0) -> tf.Tensor:
    """x = V s with V = H^H (H H^H + reg I)^-1, unit-norm columns scaled by sqrt(power/K).

    Parameters
    ----------
    h : [..., K, M], tf.complex64
        Channel matrices (users x BS antennas).
    s : [..., K], tf.complex64
        One symbol per user.
    reg : [...] (broadcastable), tf.float32
        Regulariser added to the diagonal of H H^H; 0 gives ZF.
    power : float
        Total transmit power shared by the K unit-energy streams.

    Returns
    -------
    x : [..., M], tf.complex64
        Antenna signals. NaN/Inf where H H^H + reg I is singular.
    """
    k = h.shape[-2]
    rows = [h[..., i, :] for i in range(k)]                        # K x [..., M]
    reg = tf.cast(reg, tf.float32)

    def dot(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:               # a b^H over antennas
        return tf.reduce_sum(a * tf.math.conj(b), axis=-1)

    # Cholesky A = L L^H of A = H H^H + reg I; diagonal of L kept real
    low: dict[tuple[int, int], tf.Tensor] = {}
    diag: list[tf.Tensor] = []
    for j in range(k):
        d = tf.math.real(dot(rows[j], rows[j])) + reg
        for m in range(j):
            d -= tf.abs(low[j, m]) ** 2
        diag.append(tf.complex(tf.sqrt(d), tf.zeros_like(d)))
        for i in range(j + 1, k):
            a = dot(rows[i], rows[j])
            for m in range(j):
                a -= low[i, m] * tf.math.conj(low[j, m])
            low[i, j] = a / diag[j]
    # A X = H by forward (L Z = H) and backward (L^H X = Z) substitution; X's rows are K x [..., M]
    z: list[tf.Tensor] = []
    for i in range(k):
        acc = rows[i]
        for m in range(i):
            acc -= low[i, m][..., None] * z[m]
        z.append(acc / diag[i][..., None])
    x_rows: list[tf.Tensor | None] = [None] * k
    for i in reversed(range(k)):
        acc = z[i]
        for m in range(i + 1, k):
            acc -= tf.math.conj(low[m, i])[..., None] * x_rows[m]
        x_rows[i] = acc / diag[i][..., None]
    # V = X^H: column k is conj(X[k]); normalise it and weight by the user's symbol
    out = 0
    for i in range(k):
        norm = tf.sqrt(tf.reduce_sum(tf.abs(x_rows[i]) ** 2, axis=-1, keepdims=True))
        out += tf.math.conj(x_rows[i]) * (s[..., i:i + 1] / tf.complex(norm * math.sqrt(k / power), 0.0))
    return out


def normalize_power(x: tf.Tensor, power: float = 1.0) -> tf.Tensor:
    """Scale each slot of x [B, 1, M, S, F] so the mean over REs of sum_m |x|^2 is ``power``."""
    mean = tf.reduce_mean(tf.reduce_sum(tf.abs(x) ** 2, axis=2, keepdims=True),
                          axis=[3, 4], keepdims=True)
    scale = tf.math.sqrt(power / mean)
    return x * tf.complex(scale, tf.zeros_like(scale))


def _real_channels(z: tf.Tensor) -> tf.Tensor:
    """[..., C] complex -> [..., 2C] real: real parts then imaginary parts."""
    return tf.concat([tf.math.real(z), tf.math.imag(z)], axis=-1)


@keras.saving.register_keras_serializable("linksim")
class NeuralPrecoder(ScenarioLayer):
    """Learnable-alpha RZF plus residual CNN, or classical RZF / ZF (module docstring).

    Parameters
    ----------
    scenario : Scenario
        Number of users K (``ue.num_users``) and BS antennas M (``bs.array``).
    residual : bool
        Add the CNN correction dX. False gives a linear precoder.
    regulariser : "learnable" | "noise" | "zero"
        alpha in eq. (7): learnable (init 1, i.e. classical RZF), fixed at 1
        (classical RZF, alpha * sigma^2 = noise variance), or 0 (ZF).
    filters : int
        Width of the residual CNN (64 in the paper).

    Input
    -----
    s : [batch_size, 1, num_users, num_ofdm_symbols, fft_size], tf.complex64
        Mapped grid from :class:`~linksim.systems.scenario_adaptive.ofdm_map.GridMapper`.
    h : [batch_size, num_users, 1, 1, num_bs_ant, num_ofdm_symbols, fft_size], tf.complex64
        True downlink channel (known at the BS, seed 003's assumption).
    no : [batch_size], tf.float32
        Noise variance sigma^2 of each slot.

    Output
    ------
    x : [batch_size, 1, num_bs_ant, num_ofdm_symbols, fft_size], tf.complex64
        Antenna signals with total power P (``precoder.power``) per RE on
        average over each slot.
    """

    def __init__(self, scenario: Scenario, residual: bool = True,
                 regulariser: Regulariser = "learnable", filters: int = 64, **kwargs) -> None:
        super().__init__(scenario, **kwargs)
        self.residual = residual
        self.regulariser = regulariser
        self.filters = filters
        if regulariser == "learnable":
            self.alpha_logit = self.add_weight(
                shape=(), name="alpha_logit", trainable=True,
                initializer=keras.initializers.Constant(math.log(math.e - 1.0)))  # softplus^-1(1)
        if residual:
            self.correction = keras.Sequential([
                keras.layers.Conv2D(filters, 3, padding="same"),
                BatchNorm(),
                keras.layers.ReLU(),
                keras.layers.Conv2D(filters, 3, padding="same"),
                BatchNorm(),
                keras.layers.ReLU(),
                keras.layers.Conv2D(2 * scenario.bs.array.num_ant, 1, kernel_initializer="zeros"),
            ], name="correction")

    @property
    def alpha(self) -> tf.Tensor:
        """alpha of eq. (7), a scalar tf.float32."""
        if self.regulariser == "learnable":
            return tf.nn.softplus(self.alpha_logit)
        return tf.constant(1.0 if self.regulariser == "noise" else 0.0)

    def coarse(self, s: tf.Tensor, h: tf.Tensor, no: tf.Tensor) -> tf.Tensor:
        """V S: [batch_size, num_ofdm_symbols, fft_size, num_bs_ant], tf.complex64 (shapes as in ``call``).

        With alpha = 1 this equals ``linksim.phy.precoding.RZF`` (transposed).
        """
        hm = tf.transpose(h[:, :, 0, 0], [0, 3, 4, 1, 2])           # [B, S, F, K, M]
        sk = tf.transpose(s[:, 0], [0, 2, 3, 1])                      # [B, S, F, K]
        reg = self.alpha * tf.reshape(tf.cast(no, tf.float32), [-1, 1, 1])
        return rzf_precode(hm, sk, reg, transmit_power(self.scenario))

    def call(self, s: tf.Tensor, h: tf.Tensor, no: tf.Tensor, training: bool = False) -> tf.Tensor:
        x = self.coarse(s, h, no)                                     # [B, S, F, M]
        if self.residual:
            hm = tf.transpose(h[:, :, 0, 0], [0, 3, 4, 1, 2])         # [B, S, F, K, M]
            o, k, m = self.scenario.ofdm, self.scenario.ue.num_users, self.scenario.bs.array.num_ant
            csi = tf.reshape(hm, [-1, o.num_ofdm_symbols, o.fft_size, k * m])
            features = tf.concat([_real_channels(x), _real_channels(csi)], axis=-1)
            dx_re, dx_im = tf.split(self.correction(features, training=training), 2, axis=-1)
            x = x + tf.complex(dx_re, dx_im)
        x = tf.transpose(x, [0, 3, 1, 2])[:, None]                    # [B, 1, M, S, F]
        return normalize_power(x, transmit_power(self.scenario))

    def get_config(self) -> dict:
        return {**super().get_config(), "residual": self.residual,
                "regulariser": self.regulariser, "filters": self.filters}
