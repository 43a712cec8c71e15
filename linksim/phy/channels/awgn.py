"""Pure AWGN: an identity channel, BS antenna k feeds user k (tests, theory)."""
from __future__ import annotations

import tensorflow as tf
from sionna.phy.ofdm import ResourceGrid

from linksim.config import Scenario
from linksim.phy.channels.base import FrequencyChannel


class AWGNChannel(FrequencyChannel):
    """h[user k, rx antenna r, BS antenna m] = 1 if k N_r + r == m else 0, on every resource element.

    With single-antenna users and precoder ``none`` each user sees only its
    own stream, so uncoded and coded error rates can be checked against
    textbook AWGN formulas; for one UE with N_R antennas it is the identity
    MIMO channel (a point-to-point link of min(N_R, N_T) unit-gain streams).
    """

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid, precision=None):
        super().__init__(precision=precision)
        k, r, m = scenario.ue.num_users, scenario.ue.array.num_ant, scenario.bs.array.num_ant
        eye = tf.reshape(tf.eye(k * r, m, dtype=self.cdtype), [k, r, m])  # [users, rx ant, bs ant]
        self._h = eye[None, :, :, None, :, None, None]
        self._grid = [resource_grid.num_ofdm_symbols, resource_grid.fft_size]

    def call(self, batch_size: int) -> tf.Tensor:
        shape = tf.concat([[batch_size], tf.shape(self._h)[1:5], self._grid], 0)
        return tf.broadcast_to(self._h, shape)
