"""Link-level channels: 38.901 CDL and TDL, and i.i.d. Rayleigh block fading.

CDL and TDL describe one link; the users get independent realisations (drawn
as ``batch_size * num_users`` links and regrouped). CDL also runs in Sionna's
``direction="uplink"`` (the UE array transmits, the BS array receives, the UE
moves) for ``link: mu_mimo_uplink``: registry key ``cdl_uplink``.
"""
from __future__ import annotations

import tensorflow as tf
from sionna.phy.channel import GenerateOFDMChannel, RayleighBlockFading
from sionna.phy.channel.tr38901 import CDL, TDL
from sionna.phy.ofdm import ResourceGrid

from linksim.config import Scenario
from linksim.phy.antennas import panel_array
from linksim.phy.channels.base import FrequencyChannel, ue_velocities, uplink_grid


class _PerUserLinks(FrequencyChannel):
    """Draws ``num_users`` independent single-link channels per slot.

    Output: downlink [batch, num_users, num_ue_ant, 1, num_bs_ant, S, F]; with
    ``direction = "uplink"`` Sionna's uplink layout [batch, 1, num_bs_ant,
    num_users, num_ue_ant, S, F] (:func:`~linksim.phy.channels.base.uplink_grid`).
    """

    def __init__(self, model, scenario: Scenario, resource_grid: ResourceGrid, precision=None):
        super().__init__(precision=precision)
        self._num_users = scenario.ue.num_users
        self._generate = GenerateOFDMChannel(
            model, resource_grid, normalize_channel=scenario.channel.normalize, precision=precision
        )

    def call(self, batch_size: int) -> tf.Tensor:
        # [batch_size*num_users, 1, num_rx_ant, 1, num_tx_ant, num_ofdm_symbols, fft_size]
        h = self._generate(batch_size * self._num_users)
        if self.direction == "uplink":
            shape = tf.concat([[batch_size, self._num_users], tf.shape(h)[2:3], tf.shape(h)[4:]], 0)
            return uplink_grid(tf.reshape(h, shape))
        shape = tf.concat([[batch_size, self._num_users], tf.shape(h)[2:]], 0)
        return tf.reshape(h, shape)


class CDLChannel(_PerUserLinks):
    """38.901 CDL-A..E with the scenario's BS and UE arrays; one link per user."""

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid, precision=None):
        ch = scenario.channel
        min_speed, max_speed = ue_velocities(scenario)
        model = CDL(
            model=ch.cdl_model,
            delay_spread=ch.delay_spread,
            carrier_frequency=ch.carrier_frequency,
            ut_array=panel_array(scenario.ue.array, ch.carrier_frequency, precision),
            bs_array=panel_array(scenario.bs.array, ch.carrier_frequency, precision),
            direction=self.direction,
            min_speed=min_speed or 0.0,
            max_speed=max_speed,
            precision=precision,
        )
        super().__init__(model, scenario, resource_grid, precision)


class CDLUplinkChannel(CDLChannel):
    """38.901 CDL-A..E uplink (``link: mu_mimo_uplink``): UE arrays transmit, the BS array receives.

    Sionna's ``CDL(direction="uplink")`` per UE with ``hybrid.speed_kmh``
    speeds (uniform, a random direction per link); for seed 001, ULAs
    ``num_rows: 1`` at both ends. Output: [batch, 1, num_bs_ant, num_users,
    num_ue_ant, num_ofdm_symbols, fft_size], as
    :class:`~linksim.phy.channels.sparse_multipath_uplink.SparseMultipathUplinkChannel`.
    """

    direction = "uplink"


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
