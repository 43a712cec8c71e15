"""Hybrid analog-digital array blocks of seed 001 (Wu & Gao, Sec. II-III): phase shifters, effective channel, feedback.

Written here: Sionna 1.2 has digital precoders/equalisers (``sionna.phy.ofdm``,
``sionna.phy.mimo``) but no analog (phase-shifter) beamformer, hybrid
effective channel or straight-through feedback quantiser. Everything here is
differentiable TensorFlow, so the learned CSANets of a later system train
through it.

- :func:`analog_precoder` / :func:`analog_combiner`: unit-modulus phase
  shifters from learnable phases (eqs. 12-13, 16, 18);
- :func:`effective_channel`: W_RF H[k, q, n] F_RF[k] on every subcarrier and
  symbol (H_equ of Sec. III-E), in Sionna's channel layout;
- :func:`spectral_efficiency`: eq. (30), the stage-II objective;
- :func:`straight_through_quantize`, :func:`feedback`,
  :func:`bits_to_features`: the UE-CSANet's B-bit feedback (footnote 5:
  uniform quantiser to interval centres, straight-through gradient).
"""
from __future__ import annotations

import math

import tensorflow as tf


def _phase_shifters(phases: tf.Tensor, num_antennas: int, normalize: bool, dtype) -> tf.Tensor:
    phases = tf.convert_to_tensor(phases)
    w = tf.exp(tf.complex(tf.zeros_like(phases), phases))
    if normalize:
        w = w / tf.cast(math.sqrt(num_antennas), w.dtype)
    return w if dtype is None else tf.cast(w, dtype)


def analog_precoder(phases: tf.Tensor, normalize: bool = True, dtype=None) -> tf.Tensor:
    """UE analog precoder F_RF = exp(j Theta) / sqrt(N_t) (eq. 16), one phase shifter per antenna and RF chain.

    Parameters
    ----------
    normalize : bool
        True: every entry has modulus 1/sqrt(N_t), so each RF chain's column has
        unit norm (the transmit power constraint, eq. 20, normalises F_RF S_BB
        anyway). False: the paper's exp(j Theta), modulus exactly 1.
    dtype : None | tf.complex
        Output dtype (None: the complex dtype matching ``phases``).

    Input
    -----
    phases : [..., N_t, N_RF,t], tf.float
        Theta_RF[k] [rad].

    Output
    ------
    f_rf : [..., N_t, N_RF,t], tf.complex
    """
    phases = tf.convert_to_tensor(phases)
    return _phase_shifters(phases, phases.shape[-2], normalize, dtype)


def analog_combiner(phases: tf.Tensor, normalize: bool = True, dtype=None) -> tf.Tensor:
    """BS analog combiner W_RF = exp(j Phi) / sqrt(N_r) (eq. 18), applied as y_BB = W_RF y (eq. 4).

    The paper's W_RF is N_RF,r x N_r and multiplies y directly (the ``W_RF^H``
    of a column-combiner convention). ``normalize``/``dtype`` as in
    :func:`analog_precoder` (modulus 1/sqrt(N_r), unit-norm rows).

    Input
    -----
    phases : [..., N_RF,r, N_r], tf.float
        Phi_RF [rad].

    Output
    ------
    w_rf : [..., N_RF,r, N_r], tf.complex
    """
    phases = tf.convert_to_tensor(phases)
    return _phase_shifters(phases, phases.shape[-1], normalize, dtype)


def effective_channel(h: tf.Tensor, f_rf: tf.Tensor, w_rf: tf.Tensor) -> tf.Tensor:
    """H_equ[k, q, n] = W_RF H[k, q, n] F_RF[k] on every subcarrier and OFDM symbol (Sec. III-E).

    The result keeps Sionna's channel layout with RF chains in place of
    antennas, so ``sionna.phy.channel.ApplyOFDMChannel`` applies it to the
    baseband streams s_BB. Note that the combined noise W_RF n is not white
    unless W_RF's rows are orthonormal: add noise at the antennas and combine
    it (or use W_RF W_RF^H as its covariance), do not add white noise to
    H_equ's output.

    Input
    -----
    h : [batch, 1, N_r, K, N_t, num_ofdm_symbols, fft_size], tf.complex
        Uplink channel (``link: mu_mimo_uplink`` models).
    f_rf : [batch, K, N_t, N_RF,t], tf.complex
        Every UE's analog precoder.
    w_rf : [batch, N_RF,r, N_r], tf.complex
        The BS analog combiner.

    Output
    ------
    h_equ : [batch, 1, N_RF,r, K, N_RF,t, num_ofdm_symbols, fft_size], tf.complex
    """
    return tf.einsum("bir,bxrkmsf,bkmj->bxikjsf", w_rf, h, f_rf)


def spectral_efficiency(h_equ: tf.Tensor, snr: tf.Tensor) -> tf.Tensor:
    """eta[k, q, n] = log2 det(I + P_t / sigma^2 H_equ H_equ^H) per UE, symbol and subcarrier (eq. 30).

    As the paper writes it (stage II, eqs. 30-32): inter-user interference is
    neglected and the combined noise is taken as white with power sigma^2.

    Input
    -----
    h_equ : [batch, 1, N_RF,r, K, N_RF,t, num_ofdm_symbols, fft_size], tf.complex
        :func:`effective_channel`'s output.
    snr : float or [batch], tf.float
        P_t / sigma^2 (linear), one per frame or for all.

    Output
    ------
    eta : [batch, K, num_ofdm_symbols, fft_size], tf.float
        bit/s/Hz; eq. (31)'s eta is the sum over K, the data symbols and N_c.
    """
    g = tf.transpose(h_equ[:, 0], [0, 2, 4, 5, 1, 3])          # [B, K, S, F, N_RF,r, N_RF,t]
    gram = tf.matmul(g, g, adjoint_b=True)
    snr = tf.reshape(tf.cast(snr, gram.dtype), [-1, 1, 1, 1, 1, 1])
    m = tf.eye(tf.shape(gram)[-1], dtype=gram.dtype) + snr * gram
    # log det of a Hermitian positive-definite matrix: 2 sum log diag(chol)
    chol = tf.linalg.cholesky(m)
    logdet = 2.0 * tf.reduce_sum(tf.math.log(tf.math.real(tf.linalg.diag_part(chol))), -1)
    return logdet / math.log(2.0)


def straight_through_quantize(x: tf.Tensor, bits: int, low: float = 0.0,
                              high: float = 1.0) -> tf.Tensor:
    """Uniform b-bit quantiser with a straight-through (identity) gradient (footnote 5).

    [low, high] is cut into 2^b equal intervals and every value maps to the
    centre of its interval (values outside are clipped to the end intervals),
    so the forward pass takes exactly 2^b values
    low + (i + 1/2) (high - low) / 2^b, i = 0..2^b-1. The backward pass copies
    the gradient unchanged (a custom gradient rather than
    ``x + stop_gradient(q - x)``, whose float rounding would leave more than
    2^b distinct forward values).

    Input
    -----
    x : [...], tf.float
    bits : int, >= 1

    Output
    ------
    q : [...], tf.float (same shape and dtype)
    """
    x = tf.convert_to_tensor(x)
    return _straight_through(x, _dequantize(_levels(x, bits, low, high), bits, low, high, x.dtype))


def _straight_through(x: tf.Tensor, value: tf.Tensor) -> tf.Tensor:
    """``value`` exactly in the forward pass, the incoming gradient passed to ``x`` unchanged."""

    @tf.custom_gradient
    def identity_gradient(x_in):
        return tf.identity(value), lambda dy: dy

    return identity_gradient(x)


def _levels(x: tf.Tensor, bits: int, low: float, high: float) -> tf.Tensor:
    """Index 0..2^b-1 of the interval holding x (clipped), int32, same shape."""
    if bits < 1:
        raise ValueError(f"bits must be >= 1, got {bits}")
    n = 2 ** bits
    i = tf.floor((x - low) / (high - low) * n)
    return tf.cast(tf.clip_by_value(i, 0.0, n - 1.0), tf.int32)


def _dequantize(index: tf.Tensor, bits: int, low: float, high: float, dtype) -> tf.Tensor:
    """Centre of interval ``index`` of 2^b on [low, high]."""
    return low + (tf.cast(index, dtype) + 0.5) * (high - low) / 2 ** bits


def feedback(x: tf.Tensor, num_bits: int, bits_per_feature: int = 2) -> tuple[tf.Tensor, tf.Tensor]:
    """The UE's B-bit feedback of features in [0, 1] and the BS's dequantised copy (footnote 5).

    Each of the B / b features (after the UE-CSANet's sigmoid) is quantised by
    :func:`straight_through_quantize` to b bits, most significant bit first.
    The dequantised features carry the straight-through gradient to ``x``;
    the bits carry none (they are what crosses the error-free feedback link).
    Round trip: |x_hat - x| <= 2^-(b+1) on [0, 1].

    Input
    -----
    x : [..., B / b], tf.float
        Features in [0, 1] (clipped).
    num_bits : int
        B, a multiple of ``bits_per_feature``.
    bits_per_feature : int
        b (paper: 2).

    Output
    ------
    bits : [..., B], tf.float
        q[k] in {0, 1}.
    x_hat : [..., B / b], tf.float
        :func:`bits_to_features` of ``bits``, with the identity gradient to ``x``.
    """
    x = tf.convert_to_tensor(x)
    if num_bits % bits_per_feature or x.shape[-1] * bits_per_feature != num_bits:
        raise ValueError(f"{num_bits} feedback bits at {bits_per_feature} bits per feature need "
                         f"{num_bits // bits_per_feature} features (a multiple), got {x.shape[-1]}")
    index = _levels(x, bits_per_feature, 0.0, 1.0)
    weights = 2 ** tf.range(bits_per_feature - 1, -1, -1)                 # MSB first
    bits = tf.cast(tf.bitwise.bitwise_and(index[..., None], weights) > 0, x.dtype)
    bits = tf.reshape(bits, tf.concat([tf.shape(x)[:-1], [num_bits]], 0))
    x_hat = _straight_through(x, bits_to_features(bits, bits_per_feature))
    return bits, x_hat


def bits_to_features(bits: tf.Tensor, bits_per_feature: int = 2) -> tf.Tensor:
    """The BS's dequantisation layer: B bits -> B / b interval centres in [0, 1] (inverse of :func:`feedback`).

    Input: bits [..., B] tf.float in {0, 1}, MSB first per feature.
    Output: [..., B / b] tf.float.
    """
    bits = tf.convert_to_tensor(bits)
    grouped = tf.reshape(bits, tf.concat([tf.shape(bits)[:-1], [-1, bits_per_feature]], 0))
    weights = tf.cast(2 ** tf.range(bits_per_feature - 1, -1, -1), bits.dtype)
    index = tf.reduce_sum(grouped * weights, -1)
    return _dequantize(index, bits_per_feature, 0.0, 1.0, bits.dtype)
