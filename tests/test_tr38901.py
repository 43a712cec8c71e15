"""38.901 sanity: the generated UMi drops follow TR 38.901's LoS probability."""
from __future__ import annotations

import numpy as np

from conftest import make_scenario
from linksim.experiments.channel_stats import multipath_stats
from linksim.phy.channels import CHANNELS
from linksim.phy.ofdm import resource_grid


def umi_los_probability(d2d_out: np.ndarray) -> np.ndarray:
    """TR 38.901 Table 7.4.2-1, UMi street canyon."""
    d = np.maximum(d2d_out, 1e-3)
    return np.where(d <= 18.0, 1.0, 18.0 / d + np.exp(-d / 36.0) * (1.0 - 18.0 / d))


def test_umi_los_share_matches_tr38901_table_7_4_2_1():
    sc = make_scenario(channel={"model": "umi"})
    ch = CHANNELS["umi"](sc, resource_grid(sc))
    stats = [multipath_stats(ch, 500) for _ in range(4)]
    # Sionna (like the 38.901 O2I model) treats indoor UEs as NLoS; outdoor ones follow the table
    outdoor = ~np.concatenate([s["indoor"] for s in stats])
    los = np.concatenate([s["los"] for s in stats])[outdoor]
    p = umi_los_probability(np.concatenate([s["d2d_out"] for s in stats])[outdoor])
    expected = p.mean()
    sigma = np.sqrt(np.sum(p * (1 - p))) / p.size
    assert abs(los.mean() - expected) < 4 * sigma, (los.mean(), expected)
    # and LoS links really are Rician: a dominant path, unlike NLoS links
    k = np.concatenate([s["k_db"] for s in stats])[outdoor]
    assert np.median(k[los]) > np.median(k[~los]) + 6


def test_umi_drop_respects_sector_geometry():
    """Single-sector UMi drop: 2D distances between 10 m and the 200 m ISD-bounded cell."""
    sc = make_scenario(channel={"model": "umi"})
    ch = CHANNELS["umi"](sc, resource_grid(sc))
    d = multipath_stats(ch, 300)["d2d"]
    assert d.min() >= 10.0 - 1e-3 and d.max() <= 200.0
