"""Physics of the coded downlink: error rates against theory, LDPC behaviour, shapes."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from scipy.stats import norm

from conftest import make_scenario
from linksim.config import MCS
from linksim.phy.link import DownlinkLink


def _error_rates(link: DownlinkLink, batch: int, ebno_db: float) -> tuple[float, float]:
    bits, bits_hat = link(batch, link.noise_variance(ebno_db))
    wrong = tf.not_equal(bits, bits_hat)
    return (float(tf.reduce_mean(tf.cast(wrong, tf.float64))),
            float(tf.reduce_mean(tf.cast(tf.reduce_any(wrong, -1), tf.float64))))


@pytest.mark.parametrize("ebno_db,power,es", [(0.0, "per_antenna", 1.0), (4.0, "per_antenna", 1.0),
                                              (4.0, "total", 0.25)])
def test_uncoded_qpsk_on_awgn_matches_q_function(ebno_db, power, es):
    """BER = Q(sqrt(Es/N0)) per QPSK bit, Es = P/K the power of each user's stream (P = 4 or 1)."""
    sc = make_scenario(channel={"model": "awgn"}, precoder={"name": "none", "power": power},
                       receiver={"csi": "perfect"})
    link = DownlinkLink(sc, MCS(qam=4, rate=0.5), coded=False)
    no = float(link.noise_variance(ebno_db))
    theory = norm.sf(np.sqrt(es / no))
    ber, _ = _error_rates(link, 64, ebno_db)
    n_bits = 64 * sc.ue.num_users * link.k
    sigma = np.sqrt(theory * (1 - theory) / n_bits)
    assert abs(ber - theory) < 5 * sigma + 0.02 * theory, (ber, theory)


def test_ebno_convention_counts_pilot_and_cp_overhead():
    """Es/N0 per stream = Eb/N0 * r * m * N_data / (N_sym * N_sc * (1 + CP/N_fft))."""
    sc = make_scenario(channel={"model": "awgn"})
    mcs = MCS(qam=16, rate=0.5)
    link = DownlinkLink(sc, mcs)
    rg = link.resource_grid
    es_no = 1.0 / float(link.noise_variance(10.0))   # per_antenna, K = M: unit energy per stream
    total = DownlinkLink(make_scenario(channel={"model": "awgn"}, precoder={"power": "total"}), mcs)
    assert 0.25 / float(total.noise_variance(10.0)) == pytest.approx(es_no, rel=1e-5)  # Es = 1/K
    overhead = 14 * 32 * (1 + 20 / 32) / int(rg.num_data_symbols)
    expected = 10 ** 1.0 * link.coderate * 4 / overhead
    assert es_no == pytest.approx(expected, rel=1e-5)
    assert int(rg.num_data_symbols) == 12 * 32


def test_ldpc_error_free_at_high_snr_and_bler_falls_with_ebno():
    sc = make_scenario(channel={"model": "awgn"}, receiver={"csi": "perfect"})
    link = DownlinkLink(sc, MCS(qam=4, rate=0.5))
    blers = [_error_rates(link, 32, e)[1] for e in (2.0, 4.0, 10.0)]
    assert blers[0] > 0.5, blers          # below the waterfall
    assert blers[0] > blers[1] > blers[2], blers
    assert blers[2] == 0.0, blers         # 128 codewords, none lost


def test_coding_gain_over_uncoded():
    """At the same Es/N0 the rate-1/2 code must beat uncoded QPSK by orders of magnitude."""
    sc = make_scenario(channel={"model": "awgn"}, receiver={"csi": "perfect"})
    coded = DownlinkLink(sc, MCS(qam=4, rate=0.5))
    uncoded = DownlinkLink(sc, MCS(qam=4, rate=0.5), coded=False)
    # equal Es/N0: uncoded Eb/N0 is 3 dB lower than the coded one for r = 1/2
    ber_coded, _ = _error_rates(coded, 32, 5.0)
    ber_uncoded, _ = _error_rates(uncoded, 32, 5.0 - 10 * np.log10(2))
    assert ber_uncoded > 0.02 and ber_coded < ber_uncoded / 100


@pytest.mark.parametrize("fft_size", [32, 64, 128])
@pytest.mark.parametrize("model", ["umi", "rayleigh"])
def test_link_shapes(fft_size, model):
    sc = make_scenario(channel={"model": model}, ofdm={"fft_size": fft_size})
    link = DownlinkLink(sc, MCS(qam=16, rate=2 / 3))
    bits, bits_hat = link(2, link.noise_variance(10.0))
    k = int(12 * fft_size * 4 * 2 / 3)
    assert link.k == k and link.n == 12 * fft_size * 4
    assert bits.shape == bits_hat.shape == (2, 1, 4, k)
    h = link.channel(3)
    assert h.shape == (3, 4, 1, 1, 4, 14, fft_size)


@pytest.mark.parametrize("model", ["umi", "uma", "rma", "cdl", "tdl", "rayleigh"])
def test_channel_normalised_to_unit_energy_per_link(model):
    sc = make_scenario(channel={"model": model})
    link = DownlinkLink(sc, MCS())
    h = link.channel(4)
    energy = tf.reduce_mean(tf.abs(h) ** 2, axis=[2, 4, 5, 6])  # per slot and user
    np.testing.assert_allclose(energy.numpy(), 1.0, rtol=1e-3)


def test_estimated_csi_costs_snr_but_converges():
    """LS estimation must lose against perfect CSI at a waterfall point, not at high SNR."""
    results = {}
    for csi in ("perfect", "estimated"):
        sc = make_scenario(channel={"model": "awgn"}, receiver={"csi": csi})
        link = DownlinkLink(sc, MCS(qam=4, rate=0.5))
        results[csi] = [_error_rates(link, 32, e)[1] for e in (4.5, 12.0)]
    assert results["estimated"][0] > results["perfect"][0] + 0.2, results
    assert results["estimated"][1] == 0.0, results
