"""Iterative weighted-MMSE sum-rate beamforming (Shi et al. 2011; seed 000 Algorithm 1).

Written here because Sionna 1.2 has no WMMSE precoder (only ZF/RZF/MRT-type
linear precoders in ``sionna.phy.mimo``).

Per resource element, single-antenna users, row channels h_k (y_k = h_k V s + n,
Sionna's ``h_freq`` convention), V = [v_1 .. v_K] with ||V||_F^2 = p. One
iteration is the block-coordinate descent of seed 000's Algorithm 1 (lines
4-5), in seed 000's notation with the paper's column channel h = h_row^H:

- equaliser (eq. 19)  e_k = conj(h_k v_k) / (T_k + sum_{m != k} v_m^H R_e v_m),
  T_k = sum_m |h_k v_m|^2 + N0 (eq. 18);
- MSE (eq. 20) eps_k = 1 - |h_k v_k|^2 / (...), weight (eq. 24) lambda_k = 1 / eps_k;
- beamformer (eq. 26) v_k = (N0/p sum_m c_m I + sum_{m != k} c_m R_e + sum_m c_m h_m^H h_m)^-1
  conj(e_k) lambda_k h_k^H,  c_m = lambda_m |e_m|^2, then scaled so ||V||_F^2 = p
  (the regulariser N0/p sum c_m and the scaling are Lemma 1 of the paper's [35],
  which removes the power constraint's multiplier).

**Parameter set.** :func:`wmmse_iteration` takes ``params``, a dict that may
hold any of seed 000's parameter set A = {p, lambda, e, R_e}:
``"power"`` [...], ``"weights"`` [..., K] (lambda), ``"equalizer"`` [..., K] (e),
``"error_cov"`` [..., M, M] (R_e). Keys given replace the closed-form updates
above; ``params=None`` (or an empty dict) is classical WMMSE. Hence the
unfolded (learned) WMMSE of seed 000 with the paper's fixed parameters, i.e.
``params = wmmse_parameters(h, v, no)`` at every layer, equals classical
WMMSE for the same number of iterations (tested in ``tests/test_wmmse.py``).
Water-filling of p[n] over subcarriers (Algorithm 1 line 3) is not done by
the classical plug-in: every RE gets the same total power
:func:`linksim.phy.precoding.transmit_power`, the convention of the other
precoders; a learned p[n] enters through ``params["power"]``.

Matrix layout of the functions: h [..., K, M] (users x BS antennas), v [..., M, K].
"""
from __future__ import annotations

import tensorflow as tf

from linksim.phy.precoding import Precoder, transmit_power
from linksim.registry import PRECODERS


def _herm(a: tf.Tensor) -> tf.Tensor:
    return tf.linalg.adjoint(a)


def scale_to_power(v: tf.Tensor, power) -> tf.Tensor:
    """v [..., M, K] scaled so that ||v||_F^2 = power ([...] or scalar) on every RE."""
    norm2 = tf.reduce_sum(tf.abs(v) ** 2, axis=[-2, -1])
    beta = tf.sqrt(tf.broadcast_to(tf.cast(power, norm2.dtype), tf.shape(norm2)) / norm2)
    return v * tf.cast(beta, v.dtype)[..., None, None]


def rzf_init(h: tf.Tensor, no, power, alpha=None) -> tf.Tensor:
    """Initial beamformer: RZF H^H (H H^H + alpha I)^-1 with equal power p/K per stream.

    Each column scaled to norm sqrt(p/K), as the ``rzf`` plug-in (Sionna's
    unit-norm columns), so ||V||_F^2 = p. ``alpha`` None: the MMSE regulariser
    K N0 / p. (Seed 000 starts from ZF, alpha -> 0.)

    Input: h [..., K, M] tf.complex; no, power, alpha scalar or [...] tf.float.
    Output: v [..., M, K] tf.complex.
    """
    k = tf.shape(h)[-2]
    rdtype = h.dtype.real_dtype
    reg = tf.cast(k, rdtype) * _per_re(no, h) / _per_re(power, h) if alpha is None \
        else _per_re(alpha, h)
    gram = tf.matmul(h, _herm(h)) + tf.cast(reg, h.dtype)[..., None, None] * tf.eye(k, dtype=h.dtype)
    v = tf.matmul(_herm(h), tf.linalg.inv(gram))
    col = tf.sqrt(_per_re(power, h) / tf.cast(k, rdtype))[..., None, None]
    return v / tf.cast(tf.norm(v, axis=-2, keepdims=True), v.dtype) * tf.cast(col, v.dtype)


def _per_re(x, h: tf.Tensor) -> tf.Tensor:
    """A scalar or [...] value as a real tensor of shape [...] (h's batch dims)."""
    x = tf.cast(x, h.dtype.real_dtype)
    return tf.broadcast_to(x, tf.shape(h)[:-2])


def _error_terms(v: tf.Tensor, error_cov) -> tf.Tensor:
    """q_m = v_m^H R_e v_m, [..., K] real (0 without R_e)."""
    if error_cov is None:
        return tf.zeros_like(tf.math.real(v[..., 0, :]))
    rv = tf.matmul(tf.cast(error_cov, v.dtype), v)
    return tf.math.real(tf.reduce_sum(tf.math.conj(v) * rv, axis=-2))


def wmmse_parameters(h: tf.Tensor, v: tf.Tensor, no, error_cov=None) -> dict:
    """Closed-form equaliser and weights for fixed V (seed 000 eqs. 18-20, 24).

    Input
    -----
    h : [..., K, M], tf.complex      (estimated) row channels
    v : [..., M, K], tf.complex      current beamformer
    no : scalar or [...], tf.float   noise variance
    error_cov : None | [..., M, M], tf.complex   CSI error covariance R_e

    Output
    ------
    dict with ``"equalizer"`` e [..., K] tf.complex, ``"weights"`` lambda [..., K]
    tf.float (1 / MMSE) and ``"mse"`` eps [..., K] tf.float.
    """
    g = tf.matmul(h, v)                                            # [..., K(user), K(stream)]
    gain = tf.abs(g) ** 2
    own = tf.linalg.diag_part(g)
    no = _per_re(no, h)
    q = _error_terms(v, error_cov)
    denom = tf.reduce_sum(gain, -1) + no[..., None] + (tf.reduce_sum(q, -1, keepdims=True) - q)
    e = tf.math.conj(own) / tf.cast(denom, g.dtype)
    mse = 1.0 - tf.abs(own) ** 2 / denom
    mse = tf.maximum(mse, tf.cast(1e-7, mse.dtype))                # float32 guard at high SNR
    return {"equalizer": e, "weights": 1.0 / mse, "mse": mse}


def wmmse_beamformer(h: tf.Tensor, e: tf.Tensor, weights: tf.Tensor, no, power,
                     error_cov=None) -> tf.Tensor:
    """Beamformer for fixed equalisers and weights (seed 000 eq. 26), scaled to ||V||_F^2 = power.

    Input
    -----
    h : [..., K, M], tf.complex;  e : [..., K], tf.complex;  weights : [..., K], tf.float
    no, power : scalar or [...], tf.float
    error_cov : None | [..., M, M], tf.complex

    Output
    ------
    v : [..., M, K], tf.complex
    """
    rdtype = h.dtype.real_dtype
    c = tf.cast(weights, rdtype) * tf.abs(e) ** 2                              # [..., K]
    mu = (_per_re(no, h) / _per_re(power, h))[..., None] * tf.reduce_sum(c, -1, keepdims=True)
    rhs = tf.cast(tf.cast(weights, rdtype), h.dtype) * tf.math.conj(e)       # lambda_k conj(e_k)
    k = tf.shape(h)[-2]
    if error_cov is None:
        # push-through: (mu I_M + H^H C H)^-1 H^H = H^H (mu I_K + C H H^H)^-1  (K x K solve)
        a = tf.cast(mu, h.dtype)[..., None] * tf.eye(k, dtype=h.dtype) + \
            tf.cast(c, h.dtype)[..., :, None] * tf.matmul(h, _herm(h))
        v = tf.matmul(_herm(h), tf.linalg.inv(a)) * rhs[..., None, :]
    else:
        m = tf.shape(h)[-1]
        base = tf.cast(mu, h.dtype)[..., None] * tf.eye(m, dtype=h.dtype) + \
            tf.matmul(_herm(h) * tf.cast(c, h.dtype)[..., None, :], h)        # [..., M, M]
        others = tf.reduce_sum(c, -1, keepdims=True) - c                       # [..., K]
        a = base[..., None, :, :] + tf.cast(others, h.dtype)[..., None, None] * \
            tf.cast(error_cov, h.dtype)[..., None, :, :]                        # [..., K, M, M]
        b = tf.math.conj(h)[..., None] * rhs[..., None, None]                   # h_k^H lambda conj(e)
        v = tf.linalg.matrix_transpose(tf.linalg.solve(a, b)[..., 0])           # [..., M, K]
    return scale_to_power(v, power)


def wmmse_iteration(h: tf.Tensor, v: tf.Tensor, no, power, params: dict | None = None,
                    error_cov=None) -> tf.Tensor:
    """One WMMSE iteration: (e, lambda) from V, then V from (e, lambda) (Algorithm 1 lines 4-5).

    Input
    -----
    h : [..., K, M], tf.complex;  v : [..., M, K], tf.complex
    no, power : scalar or [...], tf.float
    params : None | dict
        Any of ``"power"``, ``"weights"``, ``"equalizer"``, ``"error_cov"``
        (seed 000's parameter set A) replacing the closed-form value; None:
        classical WMMSE (module docstring).
    error_cov : None | [..., M, M], tf.complex
        R_e of the classical update (imperfect-CSI WMMSE); None: perfect CSI.

    Output
    ------
    v : [..., M, K], tf.complex, ||v||_F^2 = power on every RE.
    """
    params = dict(params or {})
    error_cov = params.get("error_cov", error_cov)
    power = params.get("power", power)
    if "weights" not in params or "equalizer" not in params:
        closed = wmmse_parameters(h, v, no, error_cov)
        params.setdefault("weights", closed["weights"])
        params.setdefault("equalizer", closed["equalizer"])
    return wmmse_beamformer(h, params["equalizer"], params["weights"], no, power, error_cov)


def wmmse(h: tf.Tensor, no, power, iterations: int, v_init=None, error_cov=None,
          return_history: bool = False):
    """Classical WMMSE: ``iterations`` x :func:`wmmse_iteration` from :func:`rzf_init`.

    Input: h [..., K, M] tf.complex; no, power scalar or [...] tf.float.
    Output: v [..., M, K] tf.complex (and, with ``return_history``, the list of
    the sum rates [...] after initialisation and after every iteration).
    """
    v = rzf_init(h, no, power) if v_init is None else v_init
    history = [sum_rate(h, v, no)] if return_history else None
    for _ in range(iterations):
        v = wmmse_iteration(h, v, no, power, error_cov=error_cov)
        if return_history:
            history.append(sum_rate(h, v, no))
    return (v, history) if return_history else v


def sum_rate(h: tf.Tensor, v: tf.Tensor, no) -> tf.Tensor:
    """sum_k log2(1 + |h_k v_k|^2 / (sum_{m != k} |h_k v_m|^2 + N0)) [bit/s/Hz], shape [...].

    Input: h [..., K, M], v [..., M, K] tf.complex; no scalar or [...] tf.float.
    """
    gain = tf.abs(tf.matmul(h, v)) ** 2
    own = tf.linalg.diag_part(gain)
    no = _per_re(no, h)
    sinr = own / (tf.reduce_sum(gain, -1) - own + no[..., None])
    return tf.reduce_sum(tf.math.log(1.0 + sinr), -1) / tf.math.log(tf.constant(2.0, gain.dtype))


@PRECODERS.register("wmmse")
class WMMSE(Precoder):
    """Iterative WMMSE sum-rate beamforming per RE (Shi et al. 2011), from RZF; ``precoder.iterations``.

    Total power :func:`transmit_power` per RE (||V||_F^2 = P exactly), shared
    among the streams as WMMSE decides (not P/K each as RZF). Uses the true
    channel, as every linksim precoder. Input/Output as :class:`Precoder`.
    """

    def __init__(self, scenario, resource_grid, stream_management, precision=None):
        super().__init__(scenario, resource_grid, stream_management, precision)
        self._iterations = scenario.precoder.iterations
        self._power = transmit_power(scenario)

    def call(self, x, h, no):
        hm = tf.transpose(tf.cast(h[:, :, 0, 0], self.cdtype), [0, 3, 4, 1, 2])   # [B, S, F, K, M]
        no = tf.cast(no, self.rdtype)
        no = tf.broadcast_to(tf.reshape(no, [-1, 1, 1]), tf.shape(hm)[:3])
        power = tf.fill(tf.shape(hm)[:3], tf.cast(self._power, self.rdtype))
        v = wmmse(hm, no, power, self._iterations)                                  # [B, S, F, M, K]
        x_precoded = tf.einsum("bsfmk,bksf->bmsf", v, tf.cast(x[:, 0], self.cdtype))[:, None]
        g = tf.matmul(hm, v)                                                         # [B, S, F, K, K]
        h_eff = tf.transpose(g, [0, 3, 4, 1, 2])[:, :, None, None]                  # [B, K, 1, 1, K, S, F]
        return x_precoded, h_eff
