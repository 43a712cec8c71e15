"""Seed 000 physical layer: sparse multipath channel, WMMSE precoder, BS-side sounding estimators."""
from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from sionna.phy.channel import ApplyOFDMChannel
from sionna.phy.mapping import QAMSource

from conftest import make_scenario
from linksim.cli import main
from linksim.config import ConfigError
from linksim.phy.channels import CHANNELS
from linksim.phy.channels.sparse_multipath import ula_response, upa_response
from linksim.phy.ofdm import downlink_streams, resource_grid
from linksim.phy.precoding import PRECODERS
from linksim.phy.sinr import post_precoding_sinr
from linksim.phy.sounding import nmse_vs_pilots
from linksim.phy.wmmse import (rzf_init, sum_rate, wmmse, wmmse_iteration, wmmse_parameters)


def _upa(rows, cols):
    return {"array": {"num_rows": rows, "num_cols": cols, "polarization": "single",
                      "polarization_type": "V", "pattern": "omni"}}


def _sparse(k=4, rows=4, cols=4, fft=32, paths=2, normalize=True, **more):
    return make_scenario(channel={"model": "sparse_multipath", "num_paths": paths,
                                  "normalize": normalize},
                         bs=_upa(rows, cols), ue={"num_users": k},
                         ofdm={"fft_size": fft, "cyclic_prefix_length": fft // 4}, **more)


def _draw(sc, batch):
    return CHANNELS["sparse_multipath"](sc, resource_grid(sc))(batch)


# ---------------------------------------------------------------- array responses

def test_upa_response_unit_modulus_norm_and_dft_orthogonality():
    nx, ny = 8, 4
    # spatial frequencies on the DFT grid u = 2i/nx, v = 2j/ny (|u| <= cos(phi) so angles exist)
    u = np.array([0.0, 0.25, 0.5, -0.25, 0.0, 0.25])
    v = np.array([0.0, 0.0, 0.0, 0.0, 0.5, 0.5])
    phi = np.arcsin(v)
    theta = np.arcsin(u / np.cos(phi))
    a = upa_response(nx, ny, tf.constant(theta), tf.constant(phi)).numpy()   # [6, 32]
    np.testing.assert_allclose(np.abs(a), 1.0, atol=1e-6)
    gram = a.conj() @ a.T
    np.testing.assert_allclose(np.diag(gram).real, nx * ny, rtol=1e-6)
    off = np.abs(gram - np.diag(np.diag(gram)))
    assert off.max() < 1e-6 * nx * ny
    # a non-grid pair is not orthogonal (the test can fail)
    b = upa_response(nx, ny, tf.constant([0.0, 0.05]), tf.constant([0.0, 0.0])).numpy()
    assert abs(np.vdot(b[0], b[1])) > 0.5 * nx * ny
    # eq. 6: entry (m, n) = exp(j pi (n sin(theta) cos(phi) + m sin(phi)))
    t, p = 0.7, 0.3
    c = upa_response(nx, ny, tf.constant([t]), tf.constant([p])).numpy()[0]
    m, n = 2, 5
    assert c[m * nx + n] == pytest.approx(np.exp(1j * np.pi * (n * np.sin(t) * np.cos(p)
                                                                + m * np.sin(p))), abs=1e-5)


def test_ula_response():
    a = ula_response(16, tf.constant([0.0, np.arcsin(2 / 16)])).numpy()
    np.testing.assert_allclose(np.abs(a), 1.0, atol=1e-6)
    assert abs(np.vdot(a[0], a[1])) < 1e-5
    assert np.linalg.norm(a[0]) == pytest.approx(4.0)


# ---------------------------------------------------------------- channel

@pytest.mark.parametrize("k,rows,cols,fft", [(1, 4, 4, 16), (4, 8, 8, 64), (2, 2, 8, 32)])
def test_sparse_channel_shape(k, rows, cols, fft):
    h = _draw(_sparse(k=k, rows=rows, cols=cols, fft=fft), 3)
    assert h.shape == (3, k, 1, 1, rows * cols, 14, fft) and h.dtype == tf.complex64
    # constant over the slot's OFDM symbols
    np.testing.assert_allclose(h.numpy(), np.broadcast_to(h.numpy()[..., :1, :], h.shape), atol=1e-6)


def test_sparse_channel_energy():
    h = _draw(_sparse(), 8).numpy()
    per_link = np.mean(np.abs(h) ** 2, axis=(2, 3, 4, 5, 6))
    np.testing.assert_allclose(per_link, 1.0, rtol=1e-4)
    # unnormalised: E|h_m|^2 = 1 in expectation (alpha ~ CN(0,1)/sqrt(L_p), unit-modulus a_t)
    raw = _draw(_sparse(normalize=False), 256).numpy()
    assert np.mean(np.abs(raw) ** 2) == pytest.approx(1.0, rel=0.1)
    assert np.std(np.mean(np.abs(raw) ** 2, axis=(2, 3, 4, 5, 6))) > 0.2   # links do fade


@pytest.mark.parametrize("paths", [1, 2, 3])
def test_path_count_is_rank(paths):
    k = 4
    h = _draw(_sparse(k=k, rows=8, cols=8, fft=64, paths=paths), 2).numpy()[:, :, 0, 0, :, 0, :]
    for b in range(2):
        for u in range(k):
            hk = h[b, u].T                                     # [F, M]: rows h_k[n]
            # rank of the spatial covariance sum_n h_k[n]^H h_k[n] = rank of H_k
            s = np.linalg.svd(hk, compute_uv=False)
            assert np.sum(s > 1e-4 * s[0]) == paths, s[:paths + 2]
        stacked = np.concatenate([h[b, u].T for u in range(k)], 0)   # [K F, M]
        s = np.linalg.svd(stacked, compute_uv=False)
        assert np.sum(s > 1e-4 * s[0]) == min(paths * k, 64)
        for n in (0, 17):                                      # per-RE matrix over users
            assert np.linalg.matrix_rank(h[b, :, :, n], tol=1e-3) <= min(k, paths * k)


# ---------------------------------------------------------------- WMMSE

def _rayleigh(n, k, m, seed=0):
    rng = np.random.default_rng(seed)
    return tf.constant(((rng.normal(size=(n, k, m)) + 1j * rng.normal(size=(n, k, m)))
                        / np.sqrt(2)).astype(np.complex64))


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_wmmse_converges_and_beats_rzf(snr_db):
    k = m = 4
    h = _rayleigh(400, k, m, seed=int(snr_db))
    no, p = 10 ** (-snr_db / 10), float(m)
    v, hist = wmmse(h, no, p, 20, return_history=True)
    rates = np.stack([r.numpy() for r in hist])                 # [iters + 1, N]
    assert np.all(np.diff(rates, axis=0) > -1e-3 * rates[:-1]), np.diff(rates, axis=0).min()
    # the rzf plug-in's precoder: unit-norm RZF columns with alpha = N0, P/K each
    rzf = sum_rate(h, rzf_init(h, no, p, alpha=no), no).numpy().mean()
    assert rates[-1].mean() > 1.03 * rzf, (rates[-1].mean(), rzf)
    np.testing.assert_allclose(np.sum(np.abs(v.numpy()) ** 2, axis=(-2, -1)), p, rtol=1e-5)


def test_wmmse_plugin_interface_power_and_rate():
    sc = make_scenario(channel={"model": "rayleigh"}, precoder={"name": "wmmse", "iterations": 10},
                       bs=_upa(2, 2), ofdm={"fft_size": 8, "cyclic_prefix_length": 2})
    rg, sm = resource_grid(sc), downlink_streams(4)
    h = CHANNELS["rayleigh"](sc, rg)(32)
    x = QAMSource(4)([32, 1, 4, 14, 8])
    no = 0.3
    x_tx, h_eff = PRECODERS["wmmse"](sc, rg, sm)(x, h, no)
    assert x_tx.shape == (32, 1, 4, 14, 8) and h_eff.shape == (32, 4, 1, 1, 4, 14, 8)
    y = ApplyOFDMChannel()(x_tx, h)
    np.testing.assert_allclose(y[:, :, 0].numpy(),
                               tf.einsum("bkjsf,bjsf->bksf", h_eff[:, :, 0, 0], x[:, 0]).numpy(),
                               atol=1e-4)
    assert float(tf.reduce_mean(tf.reduce_sum(tf.abs(x_tx) ** 2, 2))) == pytest.approx(4.0, rel=0.03)
    _, h_rzf = PRECODERS["rzf"](sc, rg, sm)(x, h, no)
    rate = lambda he: float(tf.reduce_mean(tf.reduce_sum(  # noqa: E731
        tf.math.log(1 + post_precoding_sinr(he, no)), 1)))
    assert rate(h_eff) > 1.03 * rate(h_rzf)


def test_unfolded_with_closed_form_parameters_is_classical():
    h = tf.cast(_rayleigh(50, 3, 8), tf.complex128)              # float64: exact comparison
    no, p = 0.1, 8.0
    v0 = rzf_init(h, no, p)
    classical, unfolded = v0, v0
    for _ in range(5):
        classical = wmmse_iteration(h, classical, no, p)
        prm = wmmse_parameters(h, unfolded, no)
        unfolded = wmmse_iteration(h, unfolded, no, p,
                                   params={"weights": prm["weights"], "equalizer": prm["equalizer"],
                                           "power": tf.fill([50], p)})
    np.testing.assert_allclose(unfolded.numpy(), classical.numpy(), atol=1e-10)
    other = wmmse_iteration(h, v0, no, p, params={"weights": tf.ones([50, 3], tf.float64)})
    assert np.abs(other.numpy() - wmmse_iteration(h, v0, no, p).numpy()).max() > 1e-3
    # the imperfect-CSI update with R_e = 0 is the perfect-CSI one
    zero = wmmse_iteration(h, v0, no, p, error_cov=tf.zeros([8, 8], tf.complex128))
    np.testing.assert_allclose(zero.numpy(), wmmse_iteration(h, v0, no, p).numpy(), atol=1e-9)


# ---------------------------------------------------------------- sounding

@pytest.fixture(scope="module")
def nmse_table():
    import sionna
    sionna.phy.config.seed = 7
    sc = _sparse(k=2, rows=4, cols=4, fft=16)                   # N_t = 16
    return nmse_vs_pilots(sc, [4, 8, 16, 32], snr_db=10.0, num_draws=24, batch_size=24)


def test_ls_nmse_matches_theory(nmse_table):
    no = 0.1
    for l in (16, 32):
        # DFT pilots, ||p_l||^2 = N_t: NMSE = N0 N_t / (p L) = N0 / L
        assert nmse_table["theory_ls"][l] == pytest.approx(no / l, rel=1e-4)
        assert nmse_table["nmse"]["ls"][l] == pytest.approx(no / l, rel=0.15)
    # underdetermined min-norm LS keeps only the L-dimensional part: NMSE ~ 1 - L / N_t
    assert nmse_table["nmse"]["ls"][8] == pytest.approx(0.5, abs=0.12)


def test_lmmse_and_omp_beat_ls_and_nmse_falls_with_pilots(nmse_table):
    nm = nmse_table["nmse"]
    for l in (4, 8, 16, 32):
        assert nm["lmmse"][l] <= nm["ls"][l] * 1.001
    # L < N_t = 16: sparsity recovers what min-norm LS cannot (L = 4 carries only 4 measurements
    # per subcarrier for 2 paths: a smaller but real gain)
    assert nm["omp"][8] < 0.3 * nm["ls"][8] and nm["omp"][8] < nm["lmmse"][8], nm
    assert nm["omp"][4] < 0.7 * nm["ls"][4], nm
    for est in nm:
        vals = [nm[est][l] for l in (4, 8, 16, 32)]
        assert all(a > b for a, b in zip(vals, vals[1:])), (est, vals)


def test_omp_and_lmmse_compiled_equal_eager_with_a_noise_level_per_slot():
    """Inside a learned system's train step OMP runs in a graph, with one N0 per slot [B, 1, 1, 1]."""
    from linksim.phy.sounding import SOUNDING_ESTIMATORS, channel_matrix, pilot_matrix
    sc = _sparse(k=2, rows=4, cols=4, fft=8)
    pilots = pilot_matrix(16, 8, "random")
    omp = SOUNDING_ESTIMATORS["omp"](sc, pilots)
    h = channel_matrix(_draw(sc, 3))
    no = tf.constant([0.01, 0.1, 1.0])[:, None, None, None]                # slots at 20 / 10 / 0 dB
    y = tf.matmul(h, pilots)
    y += tf.complex(tf.random.stateless_normal(y.shape, [1, 2]),
                    tf.random.stateless_normal(y.shape, [3, 4])) * tf.cast(tf.sqrt(no / 2), tf.complex64)
    eager = omp(y, no)
    graph = tf.function(omp.call)(y, no)
    np.testing.assert_allclose(graph.numpy(), eager.numpy(), atol=1e-5)
    xla = tf.function(omp.call, jit_compile=True)(y, no)                  # runtime.mode: xla
    np.testing.assert_allclose(xla.numpy(), eager.numpy(), atol=1e-4)
    lmmse = SOUNDING_ESTIMATORS["lmmse"](sc, pilots)
    np.testing.assert_allclose(tf.function(lmmse.call, jit_compile=True)(y, no).numpy(),
                               lmmse(y, no).numpy(), atol=1e-4)
    err = tf.reduce_sum(tf.abs(eager - h) ** 2, [1, 2, 3]) / tf.reduce_sum(tf.abs(h) ** 2, [1, 2, 3])
    assert err[0] < err[1] < err[2] and err[0] < 0.1, err.numpy()        # per-slot noise level used


def test_zero_pilots_is_a_config_error():
    with pytest.raises(ConfigError, match="sounding.num_pilots"):
        nmse_vs_pilots(_sparse(), [0], 20.0, 1)


# ---------------------------------------------------------------- validation

BAD = {
    "dual-polarised UPA": ("channel: {model: sparse_multipath}\nbs:\n  array: {num_rows: 2, num_cols: 2, "
                           "polarization: dual, polarization_type: cross}\n",
                           ["bs.array.polarization", "sparse_multipath", "single-polarised"]),
    "zero paths": ("channel: {model: sparse_multipath, num_paths: 0}\n", ["channel.num_paths", "0"]),
    "zero iterations": ("precoder: {name: wmmse, iterations: 0}\n", ["precoder.iterations", "0"]),
    "zero pilots": ("sounding: {num_pilots: 0}\n", ["sounding.num_pilots", "0"]),
    "bad zenith range": ("channel: {zenith_range: [1.0, 0.5]}\n", ["channel.zenith_range", "low"]),
    "unknown sounding estimator": ("sounding: {estimator: amp}\n",
                                   ["sounding.estimator", "'amp'", "omp", "lmmse"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_seed000_config_is_one_line(case, tmp_path, capsys):
    text, needles = BAD[case]
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"error: {path}")
    for needle in needles:
        assert needle in err, (needle, err)
