"""BS-side CSI from L sounding pilots: estimate quality, LMMSE vs LS, and what imperfect CSI does to RZF."""
from __future__ import annotations

import numpy as np
import pytest
import sionna
import tensorflow as tf
from sionna.phy.mapping import QAMSource

from conftest import make_scenario
from linksim.config import MCS
from linksim.phy.bs_csi import BS_ESTIMATORS, bs_csi
from linksim.phy.channels import CHANNELS
from linksim.phy.link import DownlinkLink
from linksim.phy.ofdm import downlink_streams, resource_grid
from linksim.phy.precoding import PRECODERS
from linksim.phy.sinr import CapacityBudget


def _nmse(estimator: str, pilots: int, no: float, power="per_antenna", csi_snr_db=None):
    sc = make_scenario(channel={"model": "rayleigh"},
                       precoder={"csi": "estimated", "csi_estimator": estimator,
                                 "csi_pilots": pilots, "power": power, "csi_snr_db": csi_snr_db})
    h = CHANNELS["rayleigh"](sc, resource_grid(sc))(16)
    h_hat, err_var = bs_csi(sc)(h, tf.constant(no))
    err = tf.reduce_mean(tf.abs(h_hat - h) ** 2) / tf.reduce_mean(tf.abs(h) ** 2)
    return float(err), float(tf.reduce_mean(err_var))


@pytest.mark.parametrize("pilots", [1, 2, 8])
def test_ls_nmse_is_n0_over_l_p_and_halves_with_twice_the_pilots(pilots):
    no = 0.2
    nmse, err_var = _nmse("ls", pilots, no)
    assert nmse == pytest.approx(no / pilots, rel=0.03)       # p = 1 (per_antenna), unit-energy H
    assert err_var == pytest.approx(no / pilots, rel=1e-6)
    nmse2, _ = _nmse("ls", 2 * pilots, no)
    assert nmse / nmse2 == pytest.approx(2.0, rel=0.06)
    # total power: each antenna sounds with p = 1/M -> M times the error
    nmse_total, _ = _nmse("ls", pilots, no, power="total")
    assert nmse_total == pytest.approx(4 * no / pilots, rel=0.03)


def test_lmmse_beats_ls_and_sounding_snr_is_its_own_key():
    ls, _ = _nmse("ls", 1, 0.5)
    lmmse, err_var = _nmse("lmmse", 1, 0.5)
    assert lmmse < ls
    assert lmmse == pytest.approx(0.5 / 1.5, rel=0.04)       # σ_h² σ_e² / (σ_h² + σ_e²), σ_h² = 1
    assert err_var == pytest.approx(0.5 / 1.5, rel=0.01)
    at_20db, _ = _nmse("ls", 1, 0.5, csi_snr_db=20.0)        # data N0 ignored
    assert at_20db == pytest.approx(0.01, rel=0.03)


def _leakage(h_eff):
    g = tf.transpose(h_eff[:, :, 0, 0], [0, 3, 4, 1, 2]).numpy()   # [B, S, F, K, K]
    diag = np.abs(np.diagonal(g, axis1=-2, axis2=-1)) ** 2
    off = np.sum(np.abs(g) ** 2, axis=-1) - diag
    return float(off.mean() / diag.mean())


def test_rzf_from_a_noisy_estimate_leaks_interference_that_vanishes_with_more_pilots():
    leak = {}
    for pilots in (1, 4, 16, 64):
        sc = make_scenario(channel={"model": "rayleigh"},
                           precoder={"name": "rzf", "alpha": 1e-4, "csi": "estimated",
                                     "csi_pilots": pilots, "csi_snr_db": 10.0})
        rg = resource_grid(sc)
        h = CHANNELS["rayleigh"](sc, rg)(8)
        pre = PRECODERS["rzf"](sc, rg, downlink_streams(4))
        x = QAMSource(4)([8, 1, 4, 14, 32])
        h_hat, _ = bs_csi(sc)(h, 0.1)
        x_tx, h_eff = pre.precode(x, h_hat, 0.1, h)
        # h_eff is the true channel times the precoder built from the estimate
        y = tf.einsum("bkmsf,bmsf->bksf", h[:, :, 0, 0], x_tx[:, 0])
        y_eff = tf.einsum("bkjsf,bjsf->bksf", h_eff[:, :, 0, 0], x[:, 0])
        np.testing.assert_allclose(y.numpy(), y_eff.numpy(), atol=1e-4)
        leak[pilots] = _leakage(h_eff)
        if pilots == 1:
            assert _leakage(pre(x, h_hat, 0.1)[1]) < 1e-5       # as the BS believes: no leakage
    perfect = _leakage(pre(x, h, 0.1)[1])
    assert perfect < 1e-5
    assert leak[1] > 1e-3 and leak[1] > leak[4] > leak[16] > leak[64] > perfect, leak
    assert leak[64] < leak[1] / 20


def test_perfect_csi_link_unchanged_and_estimated_changes_it():
    """csi: perfect is exactly the old link (precoder from H); estimated draws E and differs."""
    bits_hat = {}
    for csi in ("perfect", "estimated"):
        sc = make_scenario(channel={"model": "rayleigh"}, precoder={"csi": csi, "csi_pilots": 2})
        link = DownlinkLink(sc, MCS(qam=16, rate=0.5))
        no = link.noise_variance(6.0)
        sionna.phy.config.seed = 3
        bits = link.source([4, 1, 4, link.k])
        sionna.phy.config.seed = 4
        bits_hat[csi] = link(4, no, bits=bits)[1].numpy()
        if csi == "perfect":  # the pre-change chain, written out: precoder on H, Sionna's channel
            sionna.phy.config.seed = 4
            x = link.rg_mapper(link.mapper(link.encoder(bits)))
            h = link.channel(4)
            x_tx, h_eff = link.precoder(x, h, no)
            y = link.apply_channel._apply(x_tx, h, no)
            h_hat, err_var = link.estimator(y, no, h_eff)
            x_hat, no_eff = link.equalizer(y, h_hat, err_var, no)
            old = link.decoder(link.demapper(x_hat, no_eff)).numpy()
            np.testing.assert_array_equal(bits_hat[csi], old)
    assert not np.array_equal(bits_hat["perfect"], bits_hat["estimated"])


def test_capacity_budget_falls_with_estimated_csi():
    caps = {}
    for pilots in (None, 1, 32):
        pre = {"alpha": 1e-3} if pilots is None else {"alpha": 1e-3, "csi": "estimated",
                                                      "csi_pilots": pilots}
        sc = make_scenario(channel={"model": "rayleigh"}, precoder=pre)
        sionna.phy.config.seed = 9
        caps[pilots] = float(tf.reduce_mean(CapacityBudget(sc)(8, tf.constant(0.01))))
    assert caps[1] < caps[32] < caps[None], caps


def test_estimators_are_registered():
    assert {"ls", "lmmse"} <= set(BS_ESTIMATORS)


def test_sounding_estimator_gives_the_precoder_the_sparse_sounding_estimate():
    """precoder.csi_estimator: sounding = linksim.phy.sounding's model (L < N_t, OMP) on the link's grid."""
    def scenario(pilots, estimator="omp"):
        return make_scenario(
            channel={"model": "sparse_multipath", "num_paths": 2},
            bs={"array": {"num_rows": 4, "num_cols": 4, "polarization": "single",
                          "polarization_type": "V", "pattern": "omni"}},
            ue={"num_users": 2}, ofdm={"fft_size": 16, "cyclic_prefix_length": 4},
            sounding={"num_pilots": pilots, "estimator": estimator},
            precoder={"csi": "estimated", "csi_estimator": "sounding"})

    nmse = {}
    for pilots, est in ((4, "ls"), (8, "ls"), (8, "omp"), (16, "omp")):
        sc = scenario(pilots, est)
        sionna.phy.config.seed = 5
        h = CHANNELS["sparse_multipath"](sc, resource_grid(sc))(8)
        h_hat, err_var = bs_csi(sc)(h, tf.constant(0.01))
        assert h_hat.shape == h.shape and float(err_var) == 0.0
        # one estimate, held over the slot's OFDM symbols
        np.testing.assert_array_equal(h_hat[..., 0, :].numpy(), h_hat[..., -1, :].numpy())
        nmse[(pilots, est)] = float(tf.reduce_sum(tf.abs(h_hat - h) ** 2) / tf.reduce_sum(tf.abs(h) ** 2))
    # min-norm LS with L < N_t = 16 keeps about L/N_t of the channel; OMP recovers the 2 paths
    assert nmse[(4, "ls")] > nmse[(8, "ls")] > 0.3, nmse
    assert nmse[(8, "omp")] < 0.3 * nmse[(8, "ls")] and nmse[(16, "omp")] < nmse[(8, "omp")], nmse
    sc = scenario(8)
    link = DownlinkLink(sc, MCS(qam=4, rate=0.5))                 # RZF from the OMP estimate
    bits, bits_hat = link(2, link.noise_variance(10.0))
    assert bits_hat.shape == bits.shape
