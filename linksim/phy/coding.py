"""5G NR LDPC (38.212) sized to fill one user's data REs in one slot."""
from __future__ import annotations

import math

from sionna.phy.ofdm import ResourceGrid

from linksim.config import MCS


def codeword_size(resource_grid: ResourceGrid, mcs: MCS) -> tuple[int, int]:
    """``(k, n)``: information and coded bits of one user's codeword per slot.

    n = N_data_RE * m fills every data resource element of the user's stream;
    k = floor(n * r) is seed 003's B_max (eq. 10) when N_data_RE = N_st * N_sf.
    Sionna's ``LDPC5GEncoder`` does the 38.212 base-graph choice, lifting and
    rate matching to exactly n bits.
    """
    n = int(resource_grid.num_data_symbols) * mcs.bits_per_symbol
    return math.floor(n * mcs.rate), n
