"""End-to-end learned transceivers, one subpackage each, registered in :data:`linksim.registry.SYSTEMS`.

- :mod:`~linksim.systems.scenario_adaptive`: seed 003, scenario-adaptive MU-MIMO
  OFDM downlink with an asymmetric encoder/decoder;
- :mod:`~linksim.systems.jscbf`: seed 000, deep joint semantic coding and
  beamforming (Swin codec, CSI semantics, hybrid unfolded-WMMSE beamforming);
- :mod:`~linksim.systems.lcfsc`: seed 002, learnable CSI fusion semantic coding over a
  point-to-point MIMO link with SVD precoding (Swin codec with NI-CFMA, R-CVAE, NPN).

:mod:`~linksim.systems.base` says what a system declares. Adding one is a
subpackage whose ``__init__`` registers its :class:`~linksim.systems.base.System`,
plus its import line here.
"""
from linksim.systems.base import Architecture, Stage, System, arch_field

from linksim.systems import scenario_adaptive  # noqa: E402,F401  (registers itself)
from linksim.systems import jscbf  # noqa: E402,F401  (registers itself)
from linksim.systems import lcfsc  # noqa: E402,F401  (registers itself)

__all__ = ["Architecture", "Stage", "System", "arch_field"]
