"""linksim: link-level simulation of semantic communication over 3GPP MU-MIMO OFDM.

Layers (one sub-package each):

- :mod:`linksim.config`      scenario YAML -> typed, frozen config objects
- :mod:`linksim.phy`         physical layer on Sionna: channels, OFDM grid,
                             precoding, estimation, equalisation, 5G LDPC, the link
- :mod:`linksim.source`      source codecs for the SSCC baselines (JPEG, BPG/HEVC)
- :mod:`linksim.data`        image data sets (CIFAR-10 and an offline fallback)
- :mod:`linksim.experiments` Monte-Carlo sweeps, metrics, result files, plots
- :mod:`linksim.cli`         ``python -m linksim ...``
"""
__version__ = "0.1.0"
