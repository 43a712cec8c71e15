"""BS-side CSI acquisition from downlink pilot OFDM symbols (seed 000 Sec. IV-B, Table I).

Written here because Sionna 1.2 has no full-array (unprecoded) sounding
model and no compressive-sensing channel estimator: its ``LSChannelEstimator``
and ``LMMSEInterpolator`` estimate per-stream channels on a pilot pattern.

**Pilot model.** The BS sends L = ``sounding.num_pilots`` pilot OFDM symbols;
on every subcarrier, symbol l carries column l of a known pilot matrix
P [N_t x L] (:func:`pilot_matrix`, the same on all subcarriers), with
||p_l||^2 = :func:`linksim.phy.precoding.transmit_power` (``per_antenna``:
unit-modulus entries). User k receives on subcarrier n (row channel h_k[n],
Sionna's y = h x convention)

    y_k[n] = h_k[n] P + z_k[n],   z ~ CN(0, N0 I_L),

and feeds it back (ideally); the BS estimates H_k = [h_k[1]; ...; h_k[N_c]].
L < N_t is allowed (an underdetermined problem that the angular sparsity of
the ``sparse_multipath`` channel solves). The channel is taken on the slot's
first OFDM symbol (the sparse model is constant over the slot).

**SNR and NMSE.** SNR = 1/N0 per received pilot RE per BS antenna, with unit
mean channel energy per antenna (``channel.normalize``) and the pilot power
of ``precoder.power`` (the linksim convention, :mod:`linksim.phy.sinr`).
NMSE = sum ||H_hat - H||_F^2 / sum ||H||_F^2 over users, subcarriers and
draws (ratio of sums). For LS with L >= N_t and orthogonal-row pilots
(P P^H = (p L / N_t) I, ``dft``) the theory is
NMSE = N0 tr((P P^H)^-1) / N_t = N0 N_t / (p L)  (= N0 / L for p = N_t).

Estimators (``SOUNDING_ESTIMATORS``, built as ``cls(scenario, pilots)``):

- ``ls``: least squares, H_hat = Y P^+ (minimum-norm pseudo-inverse when L < N_t);
- ``lmmse``: linear MMSE per subcarrier with the sparse model's spatial
  covariance C = E[a a^H] over its angle distribution (Monte Carlo, 20000
  draws; no frequency correlation used);
- ``omp``: simultaneous OMP in the angle domain on a ``sounding.oversampling``-x
  oversampled DFT dictionary of the UPA, one support shared by all
  subcarriers (the GMMV structure seed 000's GMMV-LAMP exploits), stopped
  when the residual falls to the noise energy N0 L N_c or at
  ``sounding.max_atoms`` atoms (default min(4 L_p, L // 2, N_t): more atoms
  than that fit noise on few pilots; 4 L_p absorbs the off-grid leakage).
  Runs eagerly or inside a compiled graph (a learned system's forward pass):
  a user whose residual has reached the noise stops updating either way.
"""
from __future__ import annotations

import math
import time

import numpy as np
import tensorflow as tf
from sionna.phy import Block
from sionna.phy import config as sionna_config

from linksim.config import Scenario
from linksim.phy.channels.sparse_multipath import upa_response, upa_response_spatial
from linksim.phy.precoding import transmit_power
from linksim.registry import SOUNDING_ESTIMATORS
from linksim.seeding import derived_seed


def channel_matrix(h_freq: tf.Tensor) -> tf.Tensor:
    """[B, K, 1, 1, M, S, F] downlink channel -> [B, K, F, M] on the first OFDM symbol."""
    return tf.transpose(h_freq[:, :, 0, 0, :, 0, :], [0, 1, 3, 2])


def pilot_matrix(num_ant: int, num_pilots: int, kind: str = "auto", power: float | None = None,
                 dtype=tf.complex64) -> tf.Tensor:
    """Known pilot matrix P [num_ant, num_pilots] with ||p_l||^2 = ``power`` (default num_ant).

    ``dft``: P[m, l] = exp(-j 2 pi m l / max(L, N_t)) (orthogonal rows for
    L >= N_t, orthogonal columns otherwise); ``random``: i.i.d. uniform phases
    from Sionna's generator; ``auto``: dft if L >= N_t else random.
    """
    if num_pilots < 1:
        raise ValueError(f"sounding.num_pilots must be >= 1, got {num_pilots}")
    power = float(num_ant if power is None else power)
    if kind == "auto":
        kind = "dft" if num_pilots >= num_ant else "random"
    rdtype = dtype.real_dtype
    if kind == "dft":
        n = max(num_pilots, num_ant)
        m, l = tf.meshgrid(tf.range(num_ant, dtype=rdtype), tf.range(num_pilots, dtype=rdtype),
                           indexing="ij")
        phase = -2.0 * math.pi * m * l / n
    elif kind == "random":
        phase = sionna_config.tf_rng.uniform([num_ant, num_pilots], 0.0, 2 * math.pi, dtype=rdtype)
    else:
        raise ValueError(f"sounding.pilots: {kind!r} -- allowed: auto, dft, random")
    amp = tf.cast((power / num_ant) ** 0.5, rdtype)
    return tf.complex(amp * tf.cos(phase), amp * tf.sin(phase))


def scenario_pilots(scenario: Scenario) -> np.ndarray:
    """The BS's pilot matrix [N_t, L] for ``scenario.sounding``, fixed by the scenario seed.

    DFT when ``sounding.pilots`` is dft (or auto with L >= N_t), else i.i.d.
    uniform phases from a NumPy generator seeded from ``scenario.seed``
    (:func:`pilot_matrix` draws those from Sionna's global generator, which
    would give another matrix after a reload of a trained model);
    ||p_l||^2 = P_re (:func:`linksim.phy.precoding.transmit_power`) in both cases.
    """
    m, l = scenario.bs.array.num_ant, scenario.sounding.num_pilots
    power = transmit_power(scenario)
    kind = scenario.sounding.pilots
    if kind == "dft" or (kind == "auto" and l >= m):
        return pilot_matrix(m, l, "dft", power).numpy()
    # the tag predates this function's move from the seed-000 system: kept, so trained models
    # are evaluated with the pilots they were trained with
    phase = np.random.default_rng(derived_seed(scenario.seed, "jscbf-pilots")).uniform(
        0, 2 * np.pi, (m, l))
    return (np.sqrt(power / m) * np.exp(1j * phase)).astype(np.complex64)


def sound(h: tf.Tensor, pilots: tf.Tensor, no) -> tf.Tensor:
    """Received pilots y = h P + z.

    Input: h [B, K, F, M] tf.complex; pilots [M, L] tf.complex; no scalar tf.float.
    Output: y [B, K, F, L] tf.complex.
    """
    y = tf.matmul(h, tf.cast(pilots, h.dtype))
    std = tf.sqrt(tf.cast(no, h.dtype.real_dtype) / 2.0)
    noise = tf.complex(sionna_config.tf_rng.normal(tf.shape(y), dtype=std.dtype) * std,
                       sionna_config.tf_rng.normal(tf.shape(y), dtype=std.dtype) * std)
    return y + noise


class SoundingEstimator(Block):
    """Base class. Build as ``cls(scenario, pilots)``.

    Input
    -----
    y : [batch, num_users, fft_size, L], tf.complex
        Received pilots (:func:`sound`).
    no : scalar or [batch, 1, 1, 1], tf.float
        Noise variance (per slot: broadcast over users, subcarriers, pilots).

    Output
    ------
    h_hat : [batch, num_users, fft_size, num_bs_ant], tf.complex
        Estimated row channels (symbol-0 layout of :func:`channel_matrix`).
    """

    def __init__(self, scenario: Scenario, pilots: tf.Tensor, precision=None):
        super().__init__(precision=precision)
        self._pilots = tf.cast(pilots, self.cdtype)


@SOUNDING_ESTIMATORS.register("ls")
class LSSounding(SoundingEstimator):
    """Least squares H_hat = Y P^+ (minimum-norm pseudo-inverse when L < N_t)."""

    def __init__(self, scenario, pilots, precision=None):
        super().__init__(scenario, pilots, precision)
        p = self._pilots
        ph = tf.linalg.adjoint(p)
        if p.shape[1] >= p.shape[0]:
            self._pinv = tf.matmul(ph, tf.linalg.inv(tf.matmul(p, ph)))   # P^H (P P^H)^-1 [L, M]
        else:
            self._pinv = tf.matmul(tf.linalg.inv(tf.matmul(ph, p)), ph)   # (P^H P)^-1 P^H [L, M]

    def call(self, y, no):
        return tf.matmul(y, self._pinv)


def spatial_covariance(scenario: Scenario, num_draws: int = 20000, seed: int = 0) -> np.ndarray:
    """E[a a^H] of the sparse model's UPA response over its angle distribution, [M, M] complex.

    This is E[h^H h] of the row channel (unit diagonal) for ``sparse_multipath``.
    Monte Carlo with a fixed numpy seed (deterministic prior).
    """
    ch, arr = scenario.channel, scenario.bs.array
    rng = np.random.default_rng(seed)
    theta = rng.uniform(*ch.azimuth_range, size=num_draws)
    phi = rng.uniform(*ch.zenith_range, size=num_draws)
    a = upa_response(arr.num_cols, arr.num_rows, tf.constant(theta), tf.constant(phi)).numpy()
    return a.T @ a.conj() / num_draws


@SOUNDING_ESTIMATORS.register("lmmse")
class LMMSESounding(SoundingEstimator):
    """Per-subcarrier LMMSE with the sparse model's spatial covariance E[a a^H] (Monte Carlo)."""

    def __init__(self, scenario, pilots, precision=None):
        super().__init__(scenario, pilots, precision)
        self._cov = tf.constant(spatial_covariance(scenario), self.cdtype)

    def call(self, y, no):
        # h_hat = y (P^H C P + N0 I)^-1 P^H C   (C = E[h^H h])
        p, c = self._pilots, self._cov
        ph = tf.linalg.adjoint(p)
        l = p.shape[1]
        gram = tf.matmul(ph, tf.matmul(c, p)) + tf.cast(no, self.cdtype) * tf.eye(l, dtype=self.cdtype)
        # gram is Hermitian positive definite: a Cholesky solve (XLA has no MatrixInverse kernel)
        w = tf.linalg.cholesky_solve(tf.linalg.cholesky(gram),
                                     tf.broadcast_to(tf.matmul(ph, c), tf.concat(
                                         [tf.shape(gram)[:-1], [c.shape[-1]]], 0)))  # [.., L, M]
        return tf.matmul(y, w)


def angle_dictionary(num_x: int, num_y: int, oversampling: int = 2, dtype=tf.complex64) -> tf.Tensor:
    """UPA DFT dictionary [M, G], G = (o num_x)(o num_y), unit-modulus columns.

    Atoms at spatial frequencies u = -1 + 2 i / (o num_x), v = -1 + 2 j / (o num_y)
    (:func:`upa_response_spatial`); o = 1 gives an orthogonal basis.
    """
    rdtype = dtype.real_dtype
    gx, gy = oversampling * num_x, oversampling * num_y
    u = -1.0 + 2.0 * tf.range(gx, dtype=rdtype) / gx
    v = -1.0 + 2.0 * tf.range(gy, dtype=rdtype) / gy
    uu, vv = tf.meshgrid(u, v, indexing="ij")
    d = upa_response_spatial(num_x, num_y, tf.reshape(uu, [-1]), tf.reshape(vv, [-1]))
    return tf.transpose(tf.cast(d, dtype))


@SOUNDING_ESTIMATORS.register("omp")
class OMPSounding(SoundingEstimator):
    """Simultaneous OMP in the angle domain (support shared by all subcarriers), residual stop."""

    def __init__(self, scenario, pilots, precision=None):
        super().__init__(scenario, pilots, precision)
        arr, snd = scenario.bs.array, scenario.sounding
        self._dict = angle_dictionary(arr.num_cols, arr.num_rows, snd.oversampling, self.cdtype)
        # h = sum c a^H  ->  y = h P = sum c (a^H P): atom rows Phi = D^H P [G, L]
        self._phi = tf.matmul(tf.linalg.adjoint(self._dict), self._pilots)
        self._phi_norm2 = tf.reduce_sum(tf.abs(self._phi) ** 2, -1)          # [G]
        m, l = self._pilots.shape
        self._max_atoms = snd.max_atoms or max(1, min(4 * scenario.channel.num_paths, l // 2, m))

    def call(self, y, no):
        num_f, num_l = y.shape[-2], y.shape[-1]
        thr = tf.cast(no, self.rdtype) * num_f * num_l                      # noise energy of Y_k
        residual = y
        h_hat = tf.zeros(tf.concat([tf.shape(y)[:-1], [self._dict.shape[0]]], 0), self.cdtype)
        active = tf.ones(tf.concat([tf.shape(y)[:2], [1, 1]], 0), tf.bool)   # [B, K, 1, 1]
        support = None
        for _ in range(self._max_atoms):
            energy = tf.reduce_sum(tf.abs(residual) ** 2, [-2, -1], keepdims=True)
            active = tf.logical_and(active, energy > thr)
            if tf.executing_eagerly() and not bool(tf.reduce_any(active)):
                break  # eager shortcut; in a graph the masked updates below leave h_hat as is
            corr = tf.matmul(residual, tf.linalg.adjoint(self._phi))        # [B, K, F, G]
            score = tf.reduce_sum(tf.abs(corr) ** 2, -2) / self._phi_norm2   # [B, K, G]
            best = tf.argmax(score, -1, output_type=tf.int32)[..., None]
            support = best if support is None else tf.concat([support, best], -1)
            phi_s = tf.gather(self._phi, support)                            # [B, K, S, L]
            gram = tf.matmul(phi_s, tf.linalg.adjoint(phi_s))                # [B, K, S, S]
            gram += tf.cast(1e-6, self.cdtype) * tf.linalg.diag(tf.linalg.diag_part(gram))
            # coef = Y Phi_s^H G^-1 = (G^-1 Phi_s Y^H)^H, G Hermitian PD: Cholesky solve (XLA-safe)
            coef = tf.linalg.adjoint(tf.linalg.cholesky_solve(
                tf.linalg.cholesky(gram), tf.matmul(phi_s, tf.linalg.adjoint(y))))
            new_res = y - tf.matmul(coef, phi_s)
            atoms = tf.gather(tf.linalg.adjoint(self._dict), support)        # [B, K, S, M] (a^H)
            new_h = tf.matmul(coef, atoms)
            h_hat = tf.where(active, new_h, h_hat)
            residual = tf.where(active, new_res, residual)
        return h_hat


def nmse_vs_pilots(scenario: Scenario, l_values, snr_db: float, num_draws: int,
                   estimators=None, batch_size: int = 32) -> dict:
    """Measured NMSE (linear and dB) of every estimator for every pilot count L.

    Channels from ``channel.model`` (``num_draws`` slots in batches of
    ``batch_size``, Sionna's generator), pilots of ``sounding.pilots`` drawn
    once per L, N0 = 10^(-snr_db/10) (module docstring).

    Output: ``{"nmse": {est: {L: linear}}, "nmse_db": {...}, "theory_ls": {L: N0 N_t/(p L) or None},
    "wall_time_s": float}``.
    """
    from linksim.config import with_overrides
    from linksim.phy.channels import CHANNELS
    from linksim.phy.ofdm import resource_grid

    estimators = list(estimators or SOUNDING_ESTIMATORS)
    t0 = time.time()
    no = 10.0 ** (-snr_db / 10.0)
    channel = CHANNELS[scenario.channel.model](scenario, resource_grid(scenario))
    m = scenario.bs.array.num_ant
    power = transmit_power(scenario)
    out = {"nmse": {e: {} for e in estimators}, "nmse_db": {e: {} for e in estimators},
           "theory_ls": {}}
    for l in l_values:
        sc = with_overrides(scenario, {"sounding.num_pilots": int(l)}, source="nmse_vs_pilots")
        pilots = pilot_matrix(m, sc.sounding.num_pilots, sc.sounding.pilots, power)
        blocks = {e: SOUNDING_ESTIMATORS[e](sc, pilots) for e in estimators}
        err = {e: 0.0 for e in estimators}
        energy, done = 0.0, 0
        while done < num_draws:
            b = min(batch_size, num_draws - done)
            h = channel_matrix(channel(b))
            y = sound(h, pilots, no)
            energy += float(tf.reduce_sum(tf.abs(h) ** 2))
            for e, est in blocks.items():
                err[e] += float(tf.reduce_sum(tf.abs(est(y, no) - h) ** 2))
            done += b
        for e in estimators:
            out["nmse"][e][int(l)] = err[e] / energy
            out["nmse_db"][e][int(l)] = 10.0 * math.log10(err[e] / energy)
        out["theory_ls"][int(l)] = (no * float(tf.linalg.trace(tf.linalg.inv(
            tf.matmul(pilots, tf.linalg.adjoint(pilots)))).numpy().real) / m) if l >= m else None
    out["wall_time_s"] = time.time() - t0
    return out
