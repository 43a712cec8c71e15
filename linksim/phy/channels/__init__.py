"""Channel models, by registry key (the YAML's ``channel.model``).

Every entry is a :class:`FrequencyChannel` built as ``cls(scenario, resource_grid)``;
the ``*_uplink`` entries (``direction = "uplink"``) serve ``link: mu_mimo_uplink``.
"""
from functools import partial

from linksim.phy.channels.awgn import AWGNChannel
from linksim.phy.channels.base import FrequencyChannel
from linksim.phy.channels.link_level import CDLChannel, CDLUplinkChannel, RayleighChannel, TDLChannel
from linksim.phy.channels.sparse_multipath import SparseMultipathChannel
from linksim.phy.channels.sparse_multipath_uplink import SparseMultipathUplinkChannel
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
# link: mu_mimo_uplink (seed 001): the factory's ``direction`` says so (checked by the config)
CHANNELS.register("sparse_multipath_uplink")(SparseMultipathUplinkChannel)
CHANNELS.register("cdl_uplink")(CDLUplinkChannel)
for _name, _title in (("umi", "Urban Micro"), ("uma", "Urban Macro"), ("rma", "Rural Macro")):
    _uplink = partial(SystemLevelChannel, name=_name, direction="uplink")
    _uplink.direction = "uplink"
    CHANNELS.register(f"{_name}_uplink", f"38.901 {_title} uplink (the UEs transmit), new "
                                         f"single-sector drop per batch")(_uplink)

__all__ = ["CHANNELS", "FrequencyChannel"]
