"""Seed 000's semantic-aware beamforming: data-driven (Fig. 6), model-driven unfolded WMMSE (Fig. 7), hybrid (eq. 28).

Per subcarrier n the BS knows Ĥ[n] [K, N_t] (row channels, Sionna's y = h x
convention, so the paper's h^H is our row h) and has the fused semantic
symbols W_s[n] [K, Q]; every branch outputs the transmit signal
X[n] [N_t, Q].

**Model-driven branch (unfolded WMMSE).** ``wmmse_layers`` layers of
Algorithm 1, each reusing the update equations of :mod:`linksim.phy.wmmse`
(eqs. 19, 24, 26). A transformer over the subcarriers reads the CSI semantic
features and predicts, per layer and subcarrier, the parameter set A as
corrections of the closed-form values:

- power p[n] = P_t softmax_n(a_p)  (sum_n p[n] = P_t = N_c P_re; Algorithm 1's
  water-filling step, learned);
- weights lambda[k, n] = lambda_closed exp(a_lambda);
- equalisers e[k, n] = e_closed (1 + a_e), a_e complex;
- error covariance R_e[n] = r[n] I with r = softplus(a_r + b_r) P_re-scaled
  (an isotropic R_e: eq. 26 stays a K x K solve per user, see
  :func:`isotropic_error_beamformer`).

The closed-form e and lambda of each layer are those of perfect CSI (R_e
enters the beamformer only; the learned corrections absorb the rest). The
parameter network's output layer starts at zero and b_r at -6 (r ~ 0.0025
P_re / K), so at initialisation the branch is classical WMMSE from the RZF
start, up to that small r: training starts from expert knowledge. With ``classical=True`` it *is* :func:`linksim.phy.wmmse.wmmse` for
the same iterations (tested).
"""
from __future__ import annotations

import keras
import tensorflow as tf

from linksim.nn.transformer import SequenceTransformer
from linksim.phy.wmmse import rzf_init, scale_to_power, wmmse_iteration, wmmse_parameters


def isotropic_error_beamformer(h: tf.Tensor, e: tf.Tensor, weights: tf.Tensor, no: tf.Tensor,
                               power: tf.Tensor, r: tf.Tensor) -> tf.Tensor:
    """Eq. 26 with R_e = r I, by the push-through identity (K x K solves instead of N_t x N_t).

    v_k = (mu_k I + H^H C H)^-1 h_k^H conj(e_k) lambda_k with
    mu_k = N0/p sum_m c_m + r sum_{m != k} c_m, c_m = lambda_m |e_m|^2, equals
    H^H (mu_k I_K + C H H^H)^-1 u_k conj(e_k) lambda_k (u_k the k-th unit
    vector); then scaled to ||V||_F^2 = p (as :func:`linksim.phy.wmmse.wmmse_beamformer`,
    which it equals for ``error_cov = r I``).

    Input: h [..., K, M] complex; e [..., K] complex; weights [..., K], no, power, r [...] float.
    Output: v [..., M, K] complex.
    """
    c = weights * tf.abs(e) ** 2                                              # [..., K]
    total = tf.reduce_sum(c, -1, keepdims=True)
    mu = (no / power)[..., None] * total + r[..., None] * (total - c)        # [..., K] (per user)
    k = tf.shape(h)[-2]
    eye = tf.eye(k, dtype=h.dtype)
    a = tf.cast(c, h.dtype)[..., :, None] * tf.matmul(h, tf.linalg.adjoint(h))   # C H H^H [..., K, K]
    a = tf.cast(mu, h.dtype)[..., :, None, None] * eye + a[..., None, :, :]       # [..., K(k), K, K]
    rhs = eye * tf.cast(weights, h.dtype)[..., :, None] * tf.math.conj(e)[..., :, None]  # [..., K(k), K]
    z = tf.linalg.solve(a, rhs[..., None])[..., 0]                            # [..., K(k), K]
    v = tf.matmul(tf.linalg.adjoint(h), tf.linalg.matrix_transpose(z))        # [..., M, K(k)]
    return scale_to_power(v, power)


@keras.saving.register_keras_serializable("linksim")
class UnfoldedWMMSE(keras.layers.Layer):
    """Model-driven semantic-aware beamforming (Fig. 7): unfolded WMMSE with A predicted from CSI semantics.

    Parameters
    ----------
    num_users, num_subcarriers, layers : int
        K, N_c and the number of unfolded iterations I_1.
    power : float
        P_re, the mean transmit power per RE (:func:`linksim.phy.precoding.transmit_power`).
    d_model, depth, heads : int; mlp_ratio : float
        The parameter transformer.
    classical : bool
        No learned corrections: exactly classical WMMSE (module docstring).

    Input
    -----
    h_hat : [B, N_c, K, N_t], tf.complex64;  no : [B], tf.float32;
    csi_features : [B, N_c, csi_dim], tf.float32

    Output
    ------
    f_bb : [B, N_c, N_t, K], tf.complex64, sum_n ||F_BB[n]||_F^2 = N_c P_re.
    """

    def __init__(self, num_users: int, num_subcarriers: int, layers: int, power: float,
                 d_model: int, depth: int, heads: int, mlp_ratio: float,
                 classical: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.args = dict(num_users=num_users, num_subcarriers=num_subcarriers, layers=layers,
                         power=power, d_model=d_model, depth=depth, heads=heads,
                         mlp_ratio=mlp_ratio, classical=classical)
        self.per_layer = 3 + 3 * num_users                                    # a_p, a_r, b; a_lambda K; a_e 2K
        self.params_net = SequenceTransformer(d_model, depth, heads, layers * self.per_layer,
                                              num_subcarriers, mlp_ratio, zero_output=True,
                                              name="parameter_net")

    def build(self, input_shape=None) -> None:
        self.r_bias = self.add_weight(shape=(), initializer=keras.initializers.Constant(-6.0),
                                      name="error_bias")

    def call(self, h_hat: tf.Tensor, no: tf.Tensor, csi_features: tf.Tensor) -> tf.Tensor:
        a = self.args
        k, nc, p_re = a["num_users"], a["num_subcarriers"], a["power"]
        no_re = tf.broadcast_to(no[:, None], tf.shape(h_hat)[:2])             # [B, N_c]
        p_flat = tf.fill(tf.shape(h_hat)[:2], p_re)
        v = rzf_init(h_hat, no_re, p_flat)                                    # [B, N_c, M, K]
        if a["classical"]:
            for _ in range(a["layers"]):
                v = wmmse_iteration(h_hat, v, no_re, p_flat)
            return v
        theta = tf.reshape(self.params_net(csi_features), [-1, nc, a["layers"], self.per_layer])
        for layer in range(a["layers"]):
            t = theta[:, :, layer]                                            # [B, N_c, 3 + 3K]
            power = nc * p_re * tf.nn.softmax(t[..., 0], axis=1)              # p[n], sum = N_c P_re
            r = p_re * tf.nn.softplus(t[..., 1] + self.r_bias) / a["num_users"]
            closed = wmmse_parameters(h_hat, v, no_re)
            weights = closed["weights"] * tf.exp(t[..., 3:3 + k])
            e = closed["equalizer"] * (1.0 + tf.complex(t[..., 3 + k:3 + 2 * k], t[..., 3 + 2 * k:]))
            v = isotropic_error_beamformer(h_hat, e, weights, no_re, power, r)
        return v

    def get_config(self) -> dict:
        return {**super().get_config(), **self.args}


def classical_rzf(h_hat: tf.Tensor, no: tf.Tensor, power: float) -> tf.Tensor:
    """RZF beamformer (MMSE regulariser K N0 / P_re) per subcarrier, equal power per stream.

    Input: h_hat [B, N_c, K, N_t] complex; no [B] float.  Output: f [B, N_c, N_t, K], ||F[n]||^2 = P_re.
    """
    no_re = tf.broadcast_to(no[:, None], tf.shape(h_hat)[:2])
    return rzf_init(h_hat, no_re, tf.fill(tf.shape(h_hat)[:2], power))


@keras.saving.register_keras_serializable("linksim")
class DataDrivenBeamformer(keras.layers.Layer):
    """Data-driven semantic-aware beamforming (Fig. 6): W_s [N_c, K, Q] -> transformer -> X_d [N_c, N_t, Q].

    Input: w_s [B, N_c, K, Q], tf.complex64.
    Output: x_d [B, N_c, N_t, Q], tf.complex64.
    """

    def __init__(self, num_tx_ant: int, num_symbols: int, num_subcarriers: int, d_model: int,
                 depth: int, heads: int, mlp_ratio: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.args = dict(num_tx_ant=num_tx_ant, num_symbols=num_symbols,
                         num_subcarriers=num_subcarriers, d_model=d_model, depth=depth,
                         heads=heads, mlp_ratio=mlp_ratio)
        self.transformer = SequenceTransformer(d_model, depth, heads, 2 * num_tx_ant * num_symbols,
                                               num_subcarriers, mlp_ratio, name="transformer")

    def call(self, w_s: tf.Tensor) -> tf.Tensor:
        m, q, nc = self.args["num_tx_ant"], self.args["num_symbols"], self.args["num_subcarriers"]
        x = tf.reshape(w_s, [-1, nc, w_s.shape[2] * q])
        x = self.transformer(tf.concat([tf.math.real(x), tf.math.imag(x)], -1))  # [B, N_c, 2 M Q]
        return tf.reshape(tf.complex(x[..., : m * q], x[..., m * q:]), [-1, nc, m, q])

    def get_config(self) -> dict:
        return {**super().get_config(), **self.args}
