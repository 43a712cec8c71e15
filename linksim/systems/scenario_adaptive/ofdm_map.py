"""Semantic symbols onto the OFDM resource grid, with the shared pilot reference Y_p.

Seed 003, Sec. III-A: the encoder's real outputs become complex symbols,
are placed on the data resource elements (REs) of the grid, and the known
pilot symbols go on OFDM symbols [2, 11]. The pilots are those of the
scenario's Sionna resource grid (Kronecker pattern: on a pilot symbol, stream
k owns every K-th subcarrier starting at k, QPSK of energy K there and zero on
the other users' combs), placed by Sionna's own ``ResourceGridMapper``, so the
semantic system and the classical link (:mod:`linksim.phy`) transmit the same
reference signals.

Power: the data symbols of each (slot, user) are scaled to unit average
energy over the N_st x N_sf data REs (the average power constraint of DJSCC);
Kronecker pilots also have unit average energy per RE and stream, so every
stream of the grid has unit average energy.
"""
from __future__ import annotations

import keras
import tensorflow as tf
from sionna.phy.ofdm import ResourceGridMapper

from linksim.config import Scenario
from linksim.phy.ofdm import resource_grid
from linksim.nn.scenario_layer import ScenarioLayer


@keras.saving.register_keras_serializable("linksim")
class GridMapper(ScenarioLayer):
    """Latent of every user -> unit-power complex symbols on the resource grid, plus pilots.

    Parameters
    ----------
    scenario : Scenario
        Grid (``ofdm``) and number of users (``ue.num_users``).

    Input
    -----
    z : [batch_size, num_users, latent_dim], tf.float32
        Encoder output, ``latent_dim = 2 * N_st * N_sf``: first the real parts of
        the N_st * N_sf data symbols, then their imaginary parts.

    Output
    ------
    s : [batch_size, 1, num_users, num_ofdm_symbols, fft_size], tf.complex64
        One stream per user: data symbols with unit average energy per
        (slot, user) on the data REs, Kronecker pilots on the pilot symbols.
        Data fill the data REs in Sionna's order (OFDM symbol by symbol, all
        subcarriers of a symbol in turn).
    """

    def __init__(self, scenario: Scenario, **kwargs) -> None:
        super().__init__(scenario, **kwargs)
        self._grid = resource_grid(scenario)
        self._mapper = ResourceGridMapper(self._grid)
        self.num_data_symbols = int(self._grid.num_data_symbols)
        self.latent_dim = 2 * self.num_data_symbols
        zeros = tf.zeros([1, 1, scenario.ue.num_users, self.num_data_symbols], tf.complex64)
        self._pilots = self._mapper(zeros)[0, 0].numpy()

    @property
    def pilot_reference(self) -> tf.Tensor:
        """Y_p: [num_users, num_ofdm_symbols, fft_size], tf.complex64 -- the pilots alone, zeros on data REs.

        Known to the BS and every UE; user k's decoder uses row k.
        """
        return tf.constant(self._pilots)

    def call(self, z: tf.Tensor) -> tf.Tensor:
        re, im = tf.split(z, 2, axis=-1)                      # [B, K, N_st*N_sf] each
        data = tf.complex(re, im)
        energy = tf.reduce_mean(tf.abs(data) ** 2, axis=-1, keepdims=True)
        scale = tf.math.rsqrt(energy + 1e-12)
        data = data * tf.complex(scale, tf.zeros_like(scale))
        return self._mapper(data[:, None])                    # [B, 1, K, S, F]
