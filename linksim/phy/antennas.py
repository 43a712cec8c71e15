"""Antenna arrays from config (3GPP 38.901 panels, Sionna's ``PanelArray``)."""
from __future__ import annotations

from sionna.phy.channel.tr38901 import PanelArray

from linksim.config import ArrayConfig


def panel_array(cfg: ArrayConfig, carrier_frequency: float, precision=None) -> PanelArray:
    """A single-panel 38.901 array; element spacing is Sionna's default (lambda/2)."""
    return PanelArray(
        num_rows_per_panel=cfg.num_rows,
        num_cols_per_panel=cfg.num_cols,
        polarization=cfg.polarization,
        polarization_type=cfg.polarization_type,
        antenna_pattern=cfg.pattern,
        carrier_frequency=carrier_frequency,
        precision=precision,
    )
