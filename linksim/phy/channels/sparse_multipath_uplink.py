"""Seed 001's time-varying sparse multipath MIMO-OFDM uplink (Wu & Gao, eqs. 6-8): ULA to ULA with Doppler.

Written here for the reason seed 000's model is (Sionna 1.2 has no few-path
geometric model with chosen angle/delay statistics and an analytic ULA
response); the sum over paths on the OFDM grid is seed 000's
:func:`~linksim.phy.channels.sparse_multipath.frequency_response`, used
unchanged with its receive-array and per-path Doppler inputs.

Per UE k and frame, L_p = ``channel.num_paths`` paths with

- gains alpha_l ~ CN(0, 1) scaled by 1/sqrt(L_p) (eq. 6);
- angle of departure theta_t,l (UE ULA) and of arrival theta_r,l (BS ULA),
  both ~ U(``channel.azimuth_range``) (paper: [-pi, pi]); the half-wavelength
  ULA responses of eqs. (7)-(8) (:func:`ula_response`);
- delays tau_l ~ U[0, tau_max] as in seed 000 (``channel.max_delay``; None:
  the cyclic prefix);
- a speed v_k ~ U(``hybrid.speed_kmh``) per UE, a direction of travel
  psi_k ~ U[-pi, pi], and per-path Doppler f_d,l = f_D cos(theta_t,l - psi_k)
  with the maximum Doppler f_D = v_k f_c / c. With theta_t uniform on the
  circle this is Clarke/Jakes: the correlation of an entry across OFDM
  symbols is J0(2 pi f_D t);
- the channel constant within an OFDM symbol and changing between symbols:
  symbol q (0-based) sits at t_q = q T_I, T_I the symbol duration with CP
  (Sionna's ``ResourceGrid.ofdm_symbol_duration``), i.e. eq. (6)'s
  e^{j 2 pi f_d q T_I}.

The entry (r, m) on subcarrier n (Sionna's centred baseband frequency f_n) and
symbol q is

    H[k, q, n]_{r,m} = 1/sqrt(L_p) sum_l alpha_l a_r(theta_r,l)_r conj(a_t(theta_t,l)_m)
                         exp(-j 2 pi f_n tau_l) exp(j 2 pi f_d,l t_q).

Scale: eqs. (7)-(8) normalise the array responses to unit norm, which makes
E|H_{r,m}|^2 = 1 / (N_r N_t); here they are unit-modulus (seed 000's
convention, Sionna's ``normalize_channel``), so E|H_{r,m}|^2 = 1 and the
paper's H is this one divided by sqrt(N_r N_t) -- a fixed gain that a system
states in its SNR convention. With ``channel.normalize`` every (frame, UE)
link is scaled to unit mean energy per entry over the grid.
"""
from __future__ import annotations

import math

import tensorflow as tf
from sionna.phy import SPEED_OF_LIGHT
from sionna.phy.channel import subcarrier_frequencies
from sionna.phy.ofdm import ResourceGrid

from linksim.config import Scenario
from linksim.phy.channels.base import FrequencyChannel, ue_velocities, uplink_grid
from linksim.phy.channels.sparse_multipath import (frequency_response, max_delay, path_gains,
                                                   ula_response, uniform)


def max_doppler(speed: tf.Tensor, carrier_frequency: float) -> tf.Tensor:
    """Maximum Doppler shift f_D = v f_c / c [Hz] of a speed v [m/s] (any shape, float)."""
    return speed * tf.cast(carrier_frequency / SPEED_OF_LIGHT, speed.dtype)


class SparseMultipathUplinkChannel(FrequencyChannel):
    """Seed 001 eq. (6): K UEs (N_t-element ULA) to the BS (N_r-element ULA), L_p paths, per-path Doppler.

    Build as ``SparseMultipathUplinkChannel(scenario, resource_grid)`` with
    ``link: mu_mimo_uplink`` (uses ``ue``, ``bs.array.num_ant``, ``channel``
    num_paths / azimuth_range / max_delay / carrier_frequency / normalize,
    ``hybrid.speed_kmh``). A new realisation (paths and speeds) is drawn at
    every call.

    Input
    -----
    batch_size : int
        Independent frames to draw.

    Output
    ------
    h_freq : [batch_size, 1, num_bs_ant, num_users, num_ue_ant, num_ofdm_symbols, fft_size], tf.complex
        Sionna's ``[batch, num_rx, num_rx_ant, num_tx, num_tx_ant, num_ofdm_symbols, fft_size]``
        with the BS the one receiver: ``h[b, 0, :, k, :, q, n]`` is H[k, q, n]
        (N_r x N_t) of eq. (3), y[q, n] = sum_k H[k, q, n] s[k, q, n] + n[q, n].
    """

    direction = "uplink"

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid, precision=None):
        super().__init__(precision=precision)
        ch = scenario.channel
        self._num_users = scenario.ue.num_users
        self._num_ue_ant = scenario.ue.array.num_ant
        self._num_bs_ant = scenario.bs.array.num_ant
        self._num_paths = ch.num_paths
        self._angles = ch.azimuth_range
        self._max_delay = max_delay(scenario)
        self._speed = ue_velocities(scenario)
        self._carrier = ch.carrier_frequency
        self._normalize = ch.normalize
        self._num_symbols = resource_grid.num_ofdm_symbols
        self._frequencies = subcarrier_frequencies(resource_grid.fft_size,
                                                   resource_grid.subcarrier_spacing,
                                                   precision=precision)
        self._symbol_times = tf.range(self._num_symbols, dtype=self.rdtype) * tf.cast(
            resource_grid.ofdm_symbol_duration, self.rdtype)

    @property
    def symbol_times(self) -> tf.Tensor:
        """t_q = q T_I [s] of the grid's OFDM symbols, [num_ofdm_symbols] tf.float."""
        return self._symbol_times

    def draw_paths(self, batch_size: int) -> dict[str, tf.Tensor]:
        """One frame's path parameters, each [batch, users, paths] (speed, psi: [batch, users, 1]).

        Keys: ``alpha`` (complex, 1/sqrt(L_p) applied), ``aod``, ``aoa`` [rad],
        ``tau`` [s], ``speed`` [m/s], ``psi`` [rad], ``doppler`` [Hz].
        """
        shape = [batch_size, self._num_users, self._num_paths]
        alpha = path_gains(shape, self._num_paths, self.rdtype)
        aod = uniform(shape, self._angles, self.rdtype)
        aoa = uniform(shape, self._angles, self.rdtype)
        tau = uniform(shape, (0.0, self._max_delay), self.rdtype)
        speed = uniform([batch_size, self._num_users, 1], self._speed, self.rdtype)
        psi = uniform([batch_size, self._num_users, 1], (-math.pi, math.pi), self.rdtype)
        doppler = max_doppler(speed, self._carrier) * tf.cos(aod - psi)
        return dict(alpha=alpha, aod=aod, aoa=aoa, tau=tau, speed=speed, psi=psi, doppler=doppler)

    def response(self, paths: dict[str, tf.Tensor]) -> tf.Tensor:
        """The grid response of :meth:`draw_paths`' ``paths`` (the class Output, before normalisation)."""
        a_tx = tf.cast(ula_response(self._num_ue_ant, paths["aod"]), self.cdtype)
        a_rx = tf.cast(ula_response(self._num_bs_ant, paths["aoa"]), self.cdtype)
        h = frequency_response(paths["alpha"], a_tx, paths["tau"], self._frequencies,
                               self._num_symbols, a_rx=a_rx, doppler=paths["doppler"],
                               symbol_times=self._symbol_times)      # [B, K, N_r, N_t, S, F]
        return uplink_grid(h)                                          # [B, 1, N_r, K, N_t, S, F]

    def call(self, batch_size: int) -> tf.Tensor:
        h = self.response(self.draw_paths(batch_size))
        if self._normalize:
            c = tf.reduce_mean(tf.abs(h) ** 2, axis=(1, 2, 4, 5, 6), keepdims=True)
            h = tf.math.divide_no_nan(h, tf.cast(tf.sqrt(c), self.cdtype))
        return h

