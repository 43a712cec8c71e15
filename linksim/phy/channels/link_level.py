"""Link-level channels: 38.901 CDL and TDL, and i.i.d. Rayleigh block fading.

CDL and TDL describe one link; the users of the downlink get independent
realisations (drawn as ``batch_size * num_users`` links and regrouped).
"""
from __future__ import annotations

import tensorflow as tf
from sionna.phy.channel import GenerateOFDMChannel, RayleighBlockFading
from sionna.phy.channel.tr38901 import CDL, TDL
from sionna.phy.ofdm import ResourceGrid

from linksim.config import Scenario
from linksim.phy.antennas import panel_array
from linksim.phy.channels.base import FrequencyChannel


class _PerUserLinks(FrequencyChannel):
    """Draws ``num_users`` independent single-link channels per slot."""

    def __init__(self, model, scenario: Scenario, resource_grid: ResourceGrid, precision=None):
        super().__init__(precision=precision)
        self._num_users = scenario.ue.num_users
        self._generate = GenerateOFDMChannel(
            model, resource_grid, normalize_channel=scenario.channel.normalize, precision=precision
        )

    def call(self, batch_size: int) -> tf.Tensor:
        # [batch_size*num_users, 1, 1, 1, num_bs_ant, num_ofdm_symbols, fft_size]
        h = self._generate(batch_size * self._num_users)
        shape = tf.concat([[batch_size, self._num_users], tf.shape(h)[2:]], 0)
        return tf.reshape(h, shape)


class CDLChannel(_PerUserLinks):
    """38.901 CDL-A..E with the scenario's BS and UE arrays; one link per user."""

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid, precision=None):
        ch = scenario.channel
        model = CDL(
            model=ch.cdl_model,
            delay_spread=ch.delay_spread,
            carrier_frequency=ch.carrier_frequency,
            ut_array=panel_array(scenario.ue.array, ch.carrier_frequency, precision),
            bs_array=panel_array(scenario.bs.array, ch.carrier_frequency, precision),
            direction="downlink",
            min_speed=ch.min_ut_velocity or 0.0,
            max_speed=ch.max_ut_velocity,
            precision=precision,
        )
        super().__init__(model, scenario, resource_grid, precision)


class TDLChannel(_PerUserLinks):
    """38.901 TDL-A..E (spatially uncorrelated antennas, ``ue.array.num_ant`` at each UE); one link per user."""

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid, precision=None):
        ch = scenario.channel
        model = TDL(
            model=ch.tdl_model,
            delay_spread=ch.delay_spread,
            carrier_frequency=ch.carrier_frequency,
            min_speed=ch.min_ut_velocity or 0.0,
            max_speed=ch.max_ut_velocity,
            num_rx_ant=scenario.ue.array.num_ant,
            num_tx_ant=scenario.bs.array.num_ant,
            precision=precision,
        )
        super().__init__(model, scenario, resource_grid, precision)


class RayleighChannel(FrequencyChannel):
    """I.i.d. CN(0,1) flat block fading, constant over the slot (tests, theory)."""

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid, precision=None):
        super().__init__(precision=precision)
        model = RayleighBlockFading(
            num_rx=scenario.ue.num_users, num_rx_ant=scenario.ue.array.num_ant, num_tx=1,
            num_tx_ant=scenario.bs.array.num_ant, precision=precision,
        )
        self._generate = GenerateOFDMChannel(
            model, resource_grid, normalize_channel=scenario.channel.normalize, precision=precision
        )

    def call(self, batch_size: int) -> tf.Tensor:
        return self._generate(batch_size)
