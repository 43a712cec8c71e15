"""Channel models, by registry key (the YAML's ``channel.model``).

Every entry is a :class:`FrequencyChannel` built as ``cls(scenario, resource_grid)``.
"""
from functools import partial

from linksim.phy.channels.awgn import AWGNChannel
from linksim.phy.channels.base import FrequencyChannel
from linksim.phy.channels.link_level import CDLChannel, RayleighChannel, TDLChannel
from linksim.phy.channels.sparse_multipath import SparseMultipathChannel
from linksim.phy.channels.system_level import SystemLevelChannel
from linksim.registry import CHANNELS

CHANNELS.register("umi", "38.901 Urban Micro street canyon, new single-sector drop per batch")(
    partial(SystemLevelChannel, name="umi"))
CHANNELS.register("uma", "38.901 Urban Macro, new single-sector drop per batch")(
    partial(SystemLevelChannel, name="uma"))
CHANNELS.register("rma", "38.901 Rural Macro, new single-sector drop per batch")(
    partial(SystemLevelChannel, name="rma"))
CHANNELS.register("cdl")(CDLChannel)
CHANNELS.register("tdl")(TDLChannel)
CHANNELS.register("rayleigh")(RayleighChannel)
CHANNELS.register("awgn")(AWGNChannel)
CHANNELS.register("sparse_multipath")(SparseMultipathChannel)

__all__ = ["CHANNELS", "FrequencyChannel"]
