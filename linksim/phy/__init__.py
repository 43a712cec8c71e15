"""Physical layer on Sionna: channels, OFDM grid, precoding, estimation,
equalisation, 5G LDPC, and the assembled downlink (:class:`~linksim.phy.link.DownlinkLink`).

Importing it registers its plug-ins in :mod:`linksim.registry`.
"""
from linksim.phy import channels, equalization, estimation, precoding  # noqa: F401  (register)
from linksim.phy import sounding, wmmse  # noqa: F401  (SOUNDING_ESTIMATORS, "wmmse")
from linksim.phy import p2p_estimation  # noqa: F401  (P2P_ESTIMATORS "ls")
from linksim.registry import CHANNELS, EQUALIZERS, ESTIMATORS, PRECODERS

__all__ = ["CHANNELS", "EQUALIZERS", "ESTIMATORS", "PRECODERS"]
