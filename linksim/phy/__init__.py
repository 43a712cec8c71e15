"""Physical layer on Sionna: channels, OFDM grid, precoding, estimation,
equalisation, 5G LDPC, and the assembled downlink (:class:`DownlinkLink`)."""
from linksim.phy.bs_csi import BS_ESTIMATORS
from linksim.phy.channels import CHANNELS
from linksim.phy.equalization import EQUALIZERS
from linksim.phy.estimation import ESTIMATORS
from linksim.phy.precoding import PRECODERS


def registries() -> dict:
    """Every plug-in table of the physical layer, by kind."""
    return {"channel": CHANNELS, "precoder": PRECODERS, "estimator": ESTIMATORS,
            "equalizer": EQUALIZERS, "bs_estimator": BS_ESTIMATORS}


__all__ = ["BS_ESTIMATORS", "CHANNELS", "EQUALIZERS", "ESTIMATORS", "PRECODERS", "registries"]
