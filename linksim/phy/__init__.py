"""Physical layer on Sionna: channels, OFDM grid, precoding, estimation,
equalisation, 5G LDPC, and the assembled downlink (:class:`DownlinkLink`)."""
from linksim.phy.channels import CHANNELS
from linksim.phy.equalization import EQUALIZERS
from linksim.phy.estimation import ESTIMATORS
from linksim.phy.precoding import PRECODERS
from linksim.phy import sounding as _sounding  # noqa: F401  (fills SOUNDING_ESTIMATORS)
from linksim.phy import wmmse as _wmmse  # noqa: F401  (registers "wmmse")


def registries() -> dict:
    """Every plug-in table of the physical layer, by kind."""
    return {"channel": CHANNELS, "precoder": PRECODERS, "estimator": ESTIMATORS,
            "equalizer": EQUALIZERS, "sounding estimator": _sounding.SOUNDING_ESTIMATORS}


__all__ = ["CHANNELS", "EQUALIZERS", "ESTIMATORS", "PRECODERS", "registries"]
