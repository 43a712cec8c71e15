"""Sparse multipath channel of seed 000 (Wu et al., eqs. 5-6): a few paths from a BS UPA.

Written here because Sionna 1.2 has no geometric few-path model with
user-chosen angle/delay statistics and an analytic UPA response (its CDL/TDL
use 38.901 cluster tables, its ray tracer needs a scene).

Per user k and slot, L_p paths (``channel.num_paths``) with

- gains alpha_l ~ CN(0, 1), scaled by 1/sqrt(L_p) as in eq. (5), so that with the
  unit-modulus array response E|h_m|^2 = 1 on every BS antenna m;
- azimuth of departure theta_l ~ U(``channel.azimuth_range``) (paper: [-pi, pi]),
  zenith phi_l ~ U(``channel.zenith_range``) (paper: [0, pi/4]), entering
  eq. (6) exactly as the paper writes it;
- delays tau_l ~ U[0, tau_max], ``channel.max_delay`` (None: the cyclic-prefix
  duration N_cp / (N_f * df), so every path lies inside the CP and the
  per-subcarrier product model is exact on the OFDM grid).

The downlink row channel (y_k = h_k x + n, Sionna's convention for
``h_freq``) on subcarrier frequency f_n is

    h_k[n] = 1/sqrt(L_p) sum_l alpha_l a_t(theta_l, phi_l)^H exp(-j 2 pi f_n tau_l),

i.e. the paper's h[k, n]^H with the conjugation absorbed in alpha's circular
symmetry. f_n are Sionna's baseband subcarrier frequencies (centred,
``subcarrier_frequencies``); the paper's n = 1..N_c differs by a per-path
constant phase, which alpha's uniform phase absorbs (same distribution).
The channel is constant over the slot's OFDM symbols; :func:`frequency_response`
also takes per-path Doppler shifts and a receive-array response, which this
plug-in sets to none and seed 001's uplink
(:mod:`linksim.phy.channels.sparse_multipath_uplink`: Doppler, a ULA at both
ends) uses.
"""
from __future__ import annotations

import math

import tensorflow as tf
from sionna.phy import config as sionna_config
from sionna.phy.channel import subcarrier_frequencies
from sionna.phy.ofdm import ResourceGrid

from linksim.config import Scenario
from linksim.phy.channels.base import FrequencyChannel


def upa_response(num_x: int, num_y: int, theta: tf.Tensor, phi: tf.Tensor) -> tf.Tensor:
    """Half-wavelength UPA response of seed 000's eq. (6), unit-modulus entries (norm sqrt(N)).

    Entry (m, n) (antenna index ``m * num_x + n``: row m of ``num_y``, column n
    of ``num_x``) is exp(j pi (n sin(theta) cos(phi) + m sin(phi))).

    Input
    -----
    num_x, num_y : int
        Elements along the horizontal (N_y in the paper, ``bs.array.num_cols``)
        and vertical (N_z, ``bs.array.num_rows``) axes.
    theta, phi : [...], tf.float
        Azimuth and zenith angles [rad], same shape.

    Output
    ------
    a : [..., num_x * num_y], tf.complex (the matching complex dtype)
    """
    theta = tf.convert_to_tensor(theta)
    phi = tf.cast(phi, theta.dtype)
    u = tf.sin(theta) * tf.cos(phi)        # horizontal spatial frequency (half cycles per element)
    v = tf.sin(phi)                        # vertical
    return upa_response_spatial(num_x, num_y, u, v)


def upa_response_spatial(num_x: int, num_y: int, u: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
    """:func:`upa_response` from the spatial frequencies u = sin(theta)cos(phi), v = sin(phi).

    Input: u, v [...] tf.float. Output: [..., num_x * num_y] tf.complex, entry
    m * num_x + n = exp(j pi (n u + m v)). A DFT grid u, v in {2 i / N - 1}
    gives mutually orthogonal responses (the OMP dictionary of
    :mod:`linksim.phy.sounding`).
    """
    u = tf.convert_to_tensor(u)
    v = tf.cast(v, u.dtype)
    n = tf.range(num_x, dtype=u.dtype)
    m = tf.range(num_y, dtype=u.dtype)
    phase = math.pi * (m[:, None] * v[..., None, None] + n[None, :] * u[..., None, None])
    phase = tf.reshape(phase, tf.concat([tf.shape(u), [num_x * num_y]], 0))
    return tf.exp(tf.complex(tf.zeros_like(phase), phase))


def ula_response(num: int, theta: tf.Tensor) -> tf.Tensor:
    """Half-wavelength ULA response exp(j pi n sin(theta)), n = 0..num-1 (norm sqrt(num)).

    Input: theta [...] tf.float, angle from broadside [rad].
    Output: [..., num] tf.complex.
    """
    theta = tf.convert_to_tensor(theta)
    phase = math.pi * tf.range(num, dtype=theta.dtype) * tf.sin(theta)[..., None]
    return tf.exp(tf.complex(tf.zeros_like(phase), phase))


def frequency_response(alpha: tf.Tensor, a_tx: tf.Tensor, tau: tf.Tensor, frequencies: tf.Tensor,
                       num_ofdm_symbols: int, a_rx: tf.Tensor | None = None,
                       doppler: tf.Tensor | None = None,
                       symbol_times: tf.Tensor | None = None) -> tf.Tensor:
    """Sum of plane-wave paths on the OFDM grid: sum_l alpha_l a_rx,l a_tx,l^H e^{-j2pi f tau_l} e^{j2pi nu_l t}.

    Input
    -----
    alpha : [batch, users, paths], tf.complex
        Path gains (any scaling, e.g. 1/sqrt(L_p), already applied).
    a_tx : [batch, users, paths, num_tx_ant], tf.complex
        Transmit array responses (conjugated here: the row channel uses a^H).
    tau : [batch, users, paths], tf.float
        Delays [s].
    frequencies : [fft_size], tf.float
        Baseband subcarrier frequencies [Hz].
    num_ofdm_symbols : int
        Symbols of the slot (the response is repeated over them without Doppler).
    a_rx : None | [batch, users, paths, num_rx_ant], tf.complex
        Receive array responses; None: one receive antenna.
    doppler : None | [batch, users, paths], tf.float
        Per-path Doppler shifts [Hz] (hook for seed 001); needs ``symbol_times``.
    symbol_times : None | [num_ofdm_symbols], tf.float
        Start time of every OFDM symbol [s].

    Output
    ------
    h : [batch, users, num_rx_ant, num_tx_ant, num_ofdm_symbols, fft_size], tf.complex
    """
    cdtype = a_tx.dtype
    rdtype = cdtype.real_dtype
    tau = tf.cast(tau, rdtype)
    phase = -2.0 * math.pi * tau[..., None] * tf.cast(frequencies, rdtype)     # [B, K, L, F]
    delay = tf.exp(tf.complex(tf.zeros_like(phase), phase))
    if a_rx is None:
        a_rx = tf.ones(tf.concat([tf.shape(alpha), [1]], 0), cdtype)
    if doppler is None:
        time = tf.ones(tf.concat([tf.shape(alpha), [num_ofdm_symbols]], 0), cdtype)
    else:
        ph = 2.0 * math.pi * tf.cast(doppler, rdtype)[..., None] * tf.cast(symbol_times, rdtype)
        time = tf.exp(tf.complex(tf.zeros_like(ph), ph))                         # [B, K, L, S]
    return tf.einsum("bkl,bklr,bklm,bkls,bklf->bkrmsf", tf.cast(alpha, cdtype), a_rx,
                     tf.math.conj(a_tx), time, delay)


def uniform(shape, bounds, dtype) -> tf.Tensor:
    """U[low, high] draws from Sionna's random generator (``sionna.phy.config.seed``)."""
    return sionna_config.tf_rng.uniform(shape, bounds[0], bounds[1], dtype=dtype)


def path_gains(shape, num_paths: int, dtype) -> tf.Tensor:
    """alpha_l ~ CN(0, 1) scaled by 1/sqrt(L_p) (seed 000 eq. 5, seed 001 eq. 6), complex of ``dtype``.

    Input: shape, e.g. [batch, users, paths]; num_paths L_p; dtype the real dtype.
    Output: [*shape] complex, E|alpha|^2 = 1 / L_p (Sionna's random generator).
    """
    std = tf.cast((0.5 / num_paths) ** 0.5, dtype)
    return tf.complex(sionna_config.tf_rng.normal(shape, dtype=dtype) * std,
                      sionna_config.tf_rng.normal(shape, dtype=dtype) * std)


class SparseMultipathChannel(FrequencyChannel):
    """Seed 000 sparse multipath (eqs. 5-6): num_paths paths per user from an N_x x N_y BS UPA.

    Build as ``SparseMultipathChannel(scenario, resource_grid)``; the UPA is
    ``bs.array.num_cols`` (x, azimuth term) by ``bs.array.num_rows`` (y,
    zenith term), single polarisation (checked by the config). A new
    realisation is drawn at every call.

    Input
    -----
    batch_size : int

    Output
    ------
    h_freq : [batch_size, num_users, 1, 1, num_bs_ant, num_ofdm_symbols, fft_size], tf.complex
        With ``channel.normalize`` every (slot, user) link is scaled to unit
        mean energy per BS antenna over the grid (as Sionna's
        ``normalize_channel``); without it the mean is 1 in expectation.
    """

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid, precision=None):
        super().__init__(precision=precision)
        ch = scenario.channel
        self._num_users = scenario.ue.num_users
        self._num_paths = ch.num_paths
        self._num_x = scenario.bs.array.num_cols
        self._num_y = scenario.bs.array.num_rows
        self._azimuth = ch.azimuth_range
        self._zenith = ch.zenith_range
        self._max_delay = max_delay(scenario)
        self._normalize = ch.normalize
        self._num_symbols = resource_grid.num_ofdm_symbols
        self._frequencies = subcarrier_frequencies(resource_grid.fft_size,
                                                   resource_grid.subcarrier_spacing,
                                                   precision=precision)

    def draw_paths(self, batch_size: int):
        """(alpha [B,K,L] complex incl. 1/sqrt(L), theta, phi, tau [B,K,L] float) for one call."""
        shape = [batch_size, self._num_users, self._num_paths]
        alpha = path_gains(shape, self._num_paths, self.rdtype)
        theta = uniform(shape, self._azimuth, self.rdtype)
        phi = uniform(shape, self._zenith, self.rdtype)
        tau = uniform(shape, (0.0, self._max_delay), self.rdtype)
        return alpha, theta, phi, tau

    def call(self, batch_size: int) -> tf.Tensor:
        alpha, theta, phi, tau = self.draw_paths(batch_size)
        a_tx = tf.cast(upa_response(self._num_x, self._num_y, theta, phi), self.cdtype)
        h = frequency_response(alpha, a_tx, tau, self._frequencies, self._num_symbols)
        h = h[:, :, :, None]                                   # [B, K, 1(rx ant), 1(tx), M, S, F]
        if self._normalize:
            c = tf.reduce_mean(tf.abs(h) ** 2, axis=(2, 3, 4, 5, 6), keepdims=True)
            h = tf.math.divide_no_nan(h, tf.cast(tf.sqrt(c), self.cdtype))
        return h


def max_delay(scenario: Scenario) -> float:
    """tau_max [s]: ``channel.max_delay``, or the CP duration N_cp / (N_f * subcarrier_spacing)."""
    o = scenario.ofdm
    if scenario.channel.max_delay is not None:
        return float(scenario.channel.max_delay)
    return o.cyclic_prefix_length / (o.fft_size * o.subcarrier_spacing)
