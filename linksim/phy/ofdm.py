"""The OFDM resource grid and the downlink stream layout (Sionna's blocks)."""
from __future__ import annotations

import numpy as np
from sionna.phy.mimo import StreamManagement
from sionna.phy.ofdm import ResourceGrid

from linksim.config import Scenario


def resource_grid(scenario: Scenario, precision=None) -> ResourceGrid:
    """The slot's grid: one BS transmitter with one stream per user.

    Pilots use Sionna's Kronecker pattern on ``pilot_ofdm_symbol_indices``:
    on a pilot symbol the subcarriers are split into ``num_users`` interleaved
    combs, one per stream, so the UE can estimate every stream's effective
    (precoded) channel, including the interfering ones. No guard band, no DC
    null: all ``fft_size x (num_ofdm_symbols - num_pilot_symbols)`` remaining
    REs carry data (N_sf x N_st in seed 003's eq. (10)).
    """
    o = scenario.ofdm
    return ResourceGrid(
        num_ofdm_symbols=o.num_ofdm_symbols,
        fft_size=o.fft_size,
        subcarrier_spacing=o.subcarrier_spacing,
        num_tx=1,
        num_streams_per_tx=scenario.ue.num_users,
        cyclic_prefix_length=o.cyclic_prefix_length,
        pilot_pattern=o.pilot_pattern,
        pilot_ofdm_symbol_indices=list(o.pilot_ofdm_symbol_indices),
        precision=precision,
    )


def downlink_streams(num_users: int) -> StreamManagement:
    """One BS (transmitter 0) sending stream k to user k (receiver k)."""
    return StreamManagement(np.ones([num_users, 1], int), num_users)
