"""A minimal hand-written Sionna 1.2 chain of the seed-003 coded downlink, without linksim.

The reference ``python -m linksim bench`` measures linksim's own link against
(it deliberately imports nothing from linksim, so it is what a user would write
without the toolkit); it ships with the package so bench runs from any install.

This is what a user would write directly against Sionna: the same blocks
(38.901 UMi with a new drop per batch, Kronecker pilots, RZF, LS + LMMSE,
APP demapping, 5G LDPC) and the same conventions as linksim's
``DownlinkLink``. ``python -m linksim bench`` times both in one process; the
ratio of their throughputs is the overhead the framework adds.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from sionna.phy.channel import ApplyOFDMChannel, GenerateOFDMChannel, gen_single_sector_topology
from sionna.phy.channel.tr38901 import PanelArray, UMi
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
from sionna.phy.mapping import BinarySource, Demapper, Mapper
from sionna.phy.mimo import StreamManagement
from sionna.phy.ofdm import (LMMSEEqualizer, LSChannelEstimator, ResourceGrid,
                             ResourceGridMapper, RZFPrecoder)
from sionna.phy.utils import ebnodb2no


def handwritten_step(batch_size: int, fft_size: int, qam_bits: int, rate: float):
    """The seed-003 downlink written directly against Sionna, as a user would without linksim."""
    num_ut, fc = 4, 2.6e9
    rg = ResourceGrid(num_ofdm_symbols=14, fft_size=fft_size, subcarrier_spacing=15e3, num_tx=1,
                      num_streams_per_tx=num_ut, cyclic_prefix_length=20,
                      pilot_pattern="kronecker", pilot_ofdm_symbol_indices=[2, 11])
    sm = StreamManagement(np.ones([num_ut, 1], int), num_ut)
    n = int(rg.num_data_symbols) * qam_bits
    k = int(n * rate)
    bs = PanelArray(num_rows_per_panel=1, num_cols_per_panel=2, polarization="dual",
                    polarization_type="cross", antenna_pattern="38.901", carrier_frequency=fc)
    ut = PanelArray(num_rows_per_panel=1, num_cols_per_panel=1, polarization="single",
                    polarization_type="V", antenna_pattern="omni", carrier_frequency=fc)
    umi = UMi(carrier_frequency=fc, o2i_model="low", ut_array=ut, bs_array=bs,
              direction="downlink", enable_pathloss=False, enable_shadow_fading=True)
    gen = GenerateOFDMChannel(umi, rg, normalize_channel=True)
    src, enc = BinarySource(), LDPC5GEncoder(k, n, num_bits_per_symbol=qam_bits)
    mapper, rgm = Mapper("qam", qam_bits), ResourceGridMapper(rg)
    pre, chan = RZFPrecoder(rg, sm, return_effective_channel=True), ApplyOFDMChannel()
    est, eq = LSChannelEstimator(rg, interpolation_type="lin"), LMMSEEqualizer(rg, sm)
    dem, dec = Demapper("app", "qam", qam_bits), LDPC5GDecoder(enc, hard_out=True, num_iter=20)

    @tf.function(jit_compile=True)
    def step(ebno_db):
        no = ebnodb2no(ebno_db, qam_bits, k / n, rg)
        b = src([batch_size, 1, num_ut, k])
        x = rgm(mapper(enc(b)))
        umi.set_topology(*gen_single_sector_topology(batch_size, num_ut, "umi"))
        h = gen(batch_size)
        x_pre, _ = pre(x, h, tf.reshape(no, [-1, 1, 1, 1]))
        x_pre = x_pre / tf.cast(tf.sqrt(float(num_ut)), x_pre.dtype)
        y = chan(x_pre, h, no)
        h_hat, err_var = est(y, no)
        x_hat, no_eff = eq(y, h_hat, err_var, no)
        b_hat = dec(dem(x_hat, no_eff))
        wrong = tf.not_equal(b, b_hat)
        return (tf.reduce_sum(tf.cast(wrong, tf.int64)),
                tf.reduce_sum(tf.cast(tf.reduce_any(wrong, -1), tf.int64)))

    return step, n * num_ut * batch_size
