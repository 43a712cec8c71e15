"""Precoders (ZF orthogonality, RZF -> ZF, power) and LS estimation of the effective channel."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from sionna.phy.channel import ApplyOFDMChannel
from sionna.phy.mapping import QAMSource

from conftest import make_scenario
from linksim.config import MCS
from linksim.phy.channels import CHANNELS
from linksim.phy.link import DownlinkLink
from linksim.phy.estimation import ESTIMATORS
from linksim.phy.ofdm import downlink_streams, resource_grid
from linksim.phy.precoding import PRECODERS


def _setup(precoder: str, alpha=None, model="rayleigh", batch=16, power="per_antenna"):
    sc = make_scenario(channel={"model": model},
                       precoder={"name": precoder, "alpha": alpha, "power": power})
    rg = resource_grid(sc)
    sm = downlink_streams(sc.ue.num_users)
    h = CHANNELS[model](sc, rg)(batch)
    x = QAMSource(4)([batch, 1, 4, 14, 32])
    return sc, rg, PRECODERS[precoder](sc, rg, sm), x, h


def _eff_matrix(h_eff):
    # [B, K, 1, 1, K, S, F] -> [B, S, F, K(users), K(streams)]
    return tf.transpose(h_eff[:, :, 0, 0], [0, 3, 4, 1, 2]).numpy()


def test_zf_makes_effective_channel_diagonal():
    _, _, pre, x, h = _setup("zf")
    _, h_eff = pre(x, h, 0.1)
    g = _eff_matrix(h_eff)
    diag = np.abs(np.diagonal(g, axis1=-2, axis2=-1))
    off = np.abs(g - np.einsum("...i,ij->...ij", np.diagonal(g, axis1=-2, axis2=-1), np.eye(4)))
    assert off.max() < 1e-4 * diag.mean()
    assert diag.min() > 0


def test_rzf_is_not_diagonal_but_tends_to_zf():
    _, _, zf, x, h = _setup("zf")
    x_zf, _ = zf(x, h, 0.1)
    leak = []
    for alpha in (1.0, 1e-2, 1e-5):
        _, _, rzf, _, _ = _setup("rzf", alpha=alpha)
        x_rzf, h_eff = rzf(x, h, 0.1)
        g = _eff_matrix(h_eff)
        leak.append(np.abs(g - g * np.eye(4)).mean())
        err = np.abs((x_rzf - x_zf).numpy()).max()
    assert leak[0] > leak[1] > leak[2], leak
    assert err < 1e-3  # alpha = 1e-5 reproduces ZF's signal


def test_rzf_default_alpha_is_noise_variance():
    _, _, default, x, h = _setup("rzf", alpha=None)
    _, _, fixed, _, _ = _setup("rzf", alpha=0.37)
    np.testing.assert_allclose(default(x, h, 0.37)[0].numpy(), fixed(x, h, 1.0)[0].numpy(),
                               atol=1e-5)


@pytest.mark.parametrize("power,total", [("per_antenna", 4.0), ("total", 1.0)])
@pytest.mark.parametrize("precoder", ["rzf", "zf", "none"])
def test_precoder_meets_power_constraint(precoder, power, total):
    _, _, pre, x, h = _setup(precoder, batch=64, power=power)
    x_tx, _ = pre(x, h, 0.1)
    per_re = tf.reduce_sum(tf.abs(x_tx) ** 2, axis=2)  # per RE, over the 4 antennas
    # unit-norm precoding vectors and unit-energy symbols: E[sum |x|^2] = P per RE
    assert float(tf.reduce_mean(per_re)) == pytest.approx(total, rel=0.02)


def test_effective_channel_is_what_the_ue_receives():
    _, rg, pre, x, h = _setup("rzf", model="umi", batch=4)
    x_tx, h_eff = pre(x, h, 0.1)
    y = ApplyOFDMChannel()(x_tx, h)                          # noiseless
    y_eff = tf.einsum("bkjsf,bjsf->bksf", h_eff[:, :, 0, 0], x[:, 0])
    np.testing.assert_allclose(y[:, :, 0].numpy(), y_eff.numpy(), atol=1e-5)


@pytest.mark.parametrize("model", ["rayleigh", "awgn"])
def test_ls_on_noiseless_pilots_recovers_effective_channel(model):
    """A channel constant over the grid is recovered exactly by LS + linear interpolation."""
    sc, rg, pre, x, h = _setup("rzf", model=model, batch=4)
    link = DownlinkLink(sc, MCS())
    x_grid = link.rg_mapper(link.mapper(link.source([4, 1, 4, link.n])))
    x_tx, h_eff = pre(x_grid, h, 1e-3)
    y = ApplyOFDMChannel()(x_tx, h)                          # no noise added
    h_hat, _ = ESTIMATORS["ls"](sc, rg)(y, 1e-6, h_eff)
    np.testing.assert_allclose(h_hat.numpy(), h_eff.numpy(), atol=1e-4)


def test_rzf_stats_measure_gain_spread_and_sinr():
    """Orthogonal users: SINR = (P/K) |h|^2 / N0 and the gain spread is that of |h| over the slot."""
    from linksim.experiments.channel_stats import rzf_stats

    k, s, f = 2, 2, 4
    flat = np.broadcast_to(np.eye(k, dtype=np.complex64) * 2.0, (1, s, f, k, k)).copy()
    stats = rzf_stats(flat, snr_db=0.0, power=2.0)          # P/K = 1, |h|^2 = 4, N0 = 1
    np.testing.assert_allclose(stats["rzf_sinr_db_0"], 10 * np.log10(4.0), atol=1e-4)
    np.testing.assert_allclose(stats["rzf_gain_spread_db_0"], 0.0, atol=1e-4)
    ramp = flat * np.array([1.0, 2.0, 1.0, 2.0], np.complex64)[None, None, :, None, None]
    spread = rzf_stats(ramp, snr_db=-7.0, power=2.0)["rzf_gain_spread_db_m7"]
    np.testing.assert_allclose(spread, 20 * np.log10(2.0) / 2, rtol=1e-4)  # half 0 dB, half +6 dB


def test_matrix_stats_count_the_res_that_float32_cannot_invert_for_zf():
    """cond(H) beyond 1/sqrt(eps32) on one RE: counted there, and the slot's worst condition kept."""
    from linksim.experiments.channel_stats import F32_SINGULAR_COND, matrix_stats

    k, s, f = 2, 2, 4
    eye = np.eye(k, dtype=np.complex64)[None, :, None, None, :, None, None]
    h = np.broadcast_to(eye, (1, k, 1, 1, k, s, f)).copy()
    h[0, 1, 0, 0, 1, 0, 0] = 1.0 / (4 * F32_SINGULAR_COND)   # RE (0, 0): cond 4x the limit
    h[0, 1, 0, 0, 1, 1, 1] = 1.0 / (0.5 * F32_SINGULAR_COND)  # RE (1, 1): half of it
    stats = matrix_stats(tf.constant(h))
    assert stats["f32_singular_res"].tolist() == [1]
    np.testing.assert_allclose(stats["cond_db_max"], 20 * np.log10(4 * F32_SINGULAR_COND), rtol=1e-4)
    np.testing.assert_allclose(stats["cond_db"], 0.0, atol=1e-4)   # the median RE is the identity
