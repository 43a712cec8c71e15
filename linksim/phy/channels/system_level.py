"""3GPP TR 38.901 system-level channels: UMi, UMa, RMa (Sionna's models).

Each call drops ``num_users`` UEs uniformly in one sector of a single-site
layout (Sionna's ``gen_single_sector_topology``: distances, heights, LoS/NLoS,
indoor/outdoor with the chosen O2I model, velocities), draws large- and
small-scale parameters and returns the OFDM frequency response. This is the
"new random single-sector topology every batch" of seed 003.
"""
from __future__ import annotations

import tensorflow as tf
from sionna.phy.channel import GenerateOFDMChannel, gen_single_sector_topology
from sionna.phy.channel.tr38901 import RMa, UMa, UMi
from sionna.phy.ofdm import ResourceGrid

from linksim.config import Scenario
from linksim.phy.antennas import panel_array
from linksim.phy.channels.base import FrequencyChannel, ue_velocities


class SystemLevelChannel(FrequencyChannel):
    """38.901 UMi/UMa/RMa downlink with a new single-sector topology per call.

    Parameters
    ----------
    scenario : Scenario
        Uses ``channel`` (carrier, O2I, velocities, normalisation, path loss),
        ``bs.array``, ``ue.array`` and ``ue.num_users``.
    resource_grid : ResourceGrid
        The OFDM grid on which the frequency response is sampled.
    name : "umi" | "uma" | "rma"
        Which 38.901 scenario.
    direction : "downlink" | "uplink"
        Sionna's link direction. ``uplink`` (``link: mu_mimo_uplink``, keys
        ``umi_uplink`` ...): the UEs transmit with ``hybrid.speed_kmh`` speeds.

    Input / Output: see :class:`FrequencyChannel`; uplink: [batch, 1,
    num_bs_ant, num_users, num_ue_ant, num_ofdm_symbols, fft_size] (Sionna's
    own layout, the BS is the one receiver).
    """

    _MODELS = {"umi": UMi, "uma": UMa, "rma": RMa}

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid, name: str,
                 direction: str = "downlink", precision=None):
        super().__init__(precision=precision)
        ch = scenario.channel
        self.direction = direction
        min_speed, max_speed = ue_velocities(scenario)
        self._scenario_name = name
        self._num_users = scenario.ue.num_users
        self._topology_kwargs = {
            k: v
            for k, v in dict(
                indoor_probability=ch.indoor_probability,
                min_ut_velocity=min_speed,
                max_ut_velocity=max_speed,
            ).items()
            if v is not None
        }
        kwargs = dict(
            carrier_frequency=ch.carrier_frequency,
            ut_array=panel_array(scenario.ue.array, ch.carrier_frequency, precision),
            bs_array=panel_array(scenario.bs.array, ch.carrier_frequency, precision),
            direction=direction,
            enable_pathloss=ch.pathloss,
            enable_shadow_fading=ch.shadow_fading,
            precision=precision,
        )
        if name != "rma":
            kwargs["o2i_model"] = ch.o2i_model
        self.model = self._MODELS[name](**kwargs)
        self._generate = GenerateOFDMChannel(
            self.model, resource_grid, normalize_channel=ch.normalize, precision=precision
        )

    def new_topology(self, batch_size: int) -> None:
        """Drop the users anew (also used by channel statistics)."""
        topology = gen_single_sector_topology(
            batch_size, self._num_users, self._scenario_name,
            precision=self.precision, **self._topology_kwargs,
        )
        self.model.set_topology(*topology)

    def call(self, batch_size: int) -> tf.Tensor:
        self.new_topology(batch_size)
        return self._generate(batch_size)
