"""One noise convention (links take N0) and one channel-plus-AWGN block, bit-identical to before."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sionna
import tensorflow as tf
from sionna.phy.channel import ApplyOFDMChannel
from sionna.phy.utils import ebnodb2no

from conftest import make_scenario
from linksim.config import MCS
from linksim.phy.channel_apply import ChannelAWGN
from linksim.phy.link import DownlinkLink
from linksim.phy.noise import ebno_db_from_no, no_from_ebno_db, snr_db_to_no
from linksim.phy.precoding import transmit_power


def test_snr_db_to_no_on_floats_and_tensors():
    assert snr_db_to_no(0.0) == 1.0 and snr_db_to_no(10.0) == pytest.approx(0.1, rel=1e-15)
    assert snr_db_to_no(-7.0) == 10.0 ** (7.0 / 10.0)          # the float64 formula, exactly
    snr = tf.constant([-7.0, 0.0, 13.0])
    no = snr_db_to_no(snr)
    assert no.dtype == tf.float32
    np.testing.assert_array_equal(no.numpy(), tf.pow(10.0, -snr / 10.0).numpy())
    np.testing.assert_allclose(no.numpy(), [10 ** 0.7, 1.0, 10 ** -1.3], rtol=1e-6)


def test_ebno_label_inverts_the_link_conversion():
    sc = make_scenario(channel={"model": "awgn"})
    link = DownlinkLink(sc, MCS(qam=16, rate=2 / 3))
    c = float(link.noise_variance(0.0))
    for snr in (-7.0, 0.0, 7.0):
        ebno = ebno_db_from_no(snr_db_to_no(snr), c)
        assert ebno == pytest.approx(snr + 10 * math.log10(c), abs=1e-9)
        assert float(link.noise_variance(ebno)) == pytest.approx(snr_db_to_no(snr), rel=1e-5)
    # no_from_ebno_db is Sionna's ebnodb2no times the stream energy
    rg = link.resource_grid
    assert float(no_from_ebno_db(3.0, 4, 0.5, rg, energy_per_stream=2.0)) == pytest.approx(
        2.0 * float(ebnodb2no(3.0, 4, 0.5, rg)), rel=1e-7)


def _bits_hat(link, no, seed=7, batch=4):
    sionna.phy.config.seed = seed
    bits = link.source([batch, 1, link.scenario.ue.num_users, link.k])
    sionna.phy.config.seed = seed + 1
    return link(batch, no, bits=bits)[1].numpy()


def test_bler_path_n0_is_bit_identical_to_the_old_eb_n0_inside_the_link():
    """Old: N0 = P * ebnodb2no(Eb/N0) inside the link; new: the same N0 passed in."""
    sc = make_scenario(channel={"model": "umi"})
    mcs = MCS(qam=16, rate=0.5)
    link = DownlinkLink(sc, mcs)
    for ebno in (4.0, 7.0):
        old_no = transmit_power(sc) * ebnodb2no(tf.constant(ebno, tf.float32), 4, link.coderate,
                                                link.resource_grid)
        new_no = link.noise_variance(tf.constant(ebno, tf.float32))
        assert old_no.numpy() == new_no.numpy()
        np.testing.assert_array_equal(_bits_hat(link, old_no), _bits_hat(link, new_no))


def test_sscc_path_n0_equals_the_old_snr_to_eb_n0_round_trip():
    """Old SSCC: SNR -> Eb/N0 = SNR + 10 log10 c -> N0 inside the link; new: N0 = 10^(-SNR/10).

    The two N0 agree to float32 rounding (the round trip can move the last
    ulp); the decoded bits of a fixed seed are identical, also where the
    decoder makes errors.
    """
    sc = make_scenario(channel={"model": "umi"})
    link = DownlinkLink(sc, MCS(qam=16, rate=0.5))
    c = float(link.noise_variance(0.0))
    errors = 0
    for snr in (3.0, 9.0):
        old_no = link.noise_variance(tf.constant(snr + 10.0 * math.log10(c), tf.float32))
        new_no = tf.constant(snr_db_to_no(snr), tf.float32)
        assert abs(float(old_no) / float(new_no) - 1) < 1e-6
        sionna.phy.config.seed = 7
        bits = link.source([4, 1, 4, link.k])
        old, new = _bits_hat(link, old_no), _bits_hat(link, new_no)
        np.testing.assert_array_equal(old, new)
        errors += int(np.sum(old != bits.numpy()))
    assert errors > 0            # the comparison covered decoding errors, not only clean blocks


def test_channel_awgn_draws_what_apply_ofdm_channel_draws():
    sc = make_scenario(channel={"model": "rayleigh"})
    link = DownlinkLink(sc, MCS())
    h = link.channel(3)                                     # [3, 4, 1, 1, 4, 14, 32]
    x = tf.complex(tf.random.normal([3, 1, 4, 14, 32]), tf.random.normal([3, 1, 4, 14, 32]))
    no = tf.constant([0.1, 0.5, 2.0])
    sionna.phy.config.seed = 11
    ours = ChannelAWGN()(x, h, no)
    sionna.phy.config.seed = 11
    theirs = ApplyOFDMChannel()(x, h, no)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    noise = (ours - ApplyOFDMChannel()(x, h)).numpy()       # per-slot noise variance is N0
    np.testing.assert_allclose(np.mean(np.abs(noise) ** 2, axis=(1, 2, 3, 4)), no.numpy(), rtol=0.1)


def test_semantic_ofdm_channel_is_the_phy_block():
    from linksim.nn.channel import OFDMChannel

    sc = make_scenario(channel={"model": "rayleigh"})
    h = DownlinkLink(sc, MCS()).channel(2)
    x = tf.complex(tf.random.normal([2, 1, 4, 14, 32]), tf.random.normal([2, 1, 4, 14, 32]))
    no = tf.constant([0.3, 0.3])
    sionna.phy.config.seed = 5
    y = OFDMChannel()(x, h, no)
    sionna.phy.config.seed = 5
    np.testing.assert_array_equal(y.numpy(), ChannelAWGN()(x, h, no)[:, :, 0].numpy())
