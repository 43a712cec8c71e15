"""``python -m linksim bench``: throughput of linksim's pipelines, as ratios in one run.

BLER pipeline: linksim's compiled Monte-Carlo step (:class:`ErrorCounter`)
against a minimal hand-written Sionna 1.2 chain doing the same work (same
blocks, same sizes, same XLA compilation) in the same process. Batches of the
two are interleaved and the median time per batch is compared, so machine load
affects both alike. The ratio (linksim / hand-written coded bits per second)
shows the overhead the framework adds; the target is >= 0.9.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import sionna
import tensorflow as tf
from sionna.phy.channel import ApplyOFDMChannel, GenerateOFDMChannel, gen_single_sector_topology
from sionna.phy.channel.tr38901 import UMi, PanelArray
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
from sionna.phy.mapping import BinarySource, Demapper, Mapper
from sionna.phy.mimo import StreamManagement
from sionna.phy.ofdm import (LMMSEEqualizer, LSChannelEstimator, ResourceGrid,
                             ResourceGridMapper, RZFPrecoder)
from sionna.phy.utils import ebnodb2no

from linksim.config import MCS, Scenario
from linksim.experiments.bler import ErrorCounter
from linksim.experiments.provenance import provenance
from linksim.experiments.results import ResultTable, write_json


def handwritten_step(batch_size: int, fft_size: int, qam_bits: int, rate: float):
    """The seed-003 downlink written directly against Sionna, as a user would without linksim."""
    num_ut, fc = 4, 2.6e9
    rg = ResourceGrid(num_ofdm_symbols=14, fft_size=fft_size, subcarrier_spacing=15e3, num_tx=1,
                      num_streams_per_tx=num_ut, cyclic_prefix_length=20,
                      pilot_pattern="kronecker", pilot_ofdm_symbol_indices=[2, 11])
    sm = StreamManagement(np.ones([num_ut, 1], int), num_ut)
    n = rg.num_data_symbols * qam_bits
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


def _median_times(fns, batches: int, ebno: tf.Tensor) -> list[float]:
    times: list[list[float]] = [[] for _ in fns]
    for fn in fns:  # compile + warm up
        fn(ebno)
        fn(ebno)
    for _ in range(batches):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            out = fn(ebno)
            _ = [int(o) for o in out]  # wait for the result
            times[i].append(time.perf_counter() - t)
    return [statistics.median(t) for t in times]


def run_bench(out_dir: Path, batches: int = 20) -> Path:
    """Benchmark and write ``bench.csv`` / ``bench.json`` into ``out_dir``."""
    sionna.phy.config.seed = 1
    out_dir = Path(out_dir)
    table_path = out_dir / "bler_pipeline.csv"
    table_path.unlink(missing_ok=True)
    table = ResultTable(table_path, ["fft_size", "qam", "rate", "batch_size", "coded_bits_per_batch",
                                     "linksim_s_per_batch", "handwritten_s_per_batch",
                                     "linksim_coded_bits_per_s", "handwritten_coded_bits_per_s",
                                     "ratio"])
    rows = []
    ebno = tf.constant(6.0)
    for fft_size, qam, rate, batch in [(32, 4, 0.5, 64), (128, 16, 0.5, 64)]:
        sc = Scenario.model_validate({"ofdm": {"fft_size": fft_size}, "seed": 1})
        ours = ErrorCounter(sc, MCS(qam=qam, rate=rate), batch)
        theirs, bits = handwritten_step(batch, fft_size, qam.bit_length() - 1, rate)
        assert bits == ours.link.n * 4 * batch
        t_ours, t_theirs = _median_times([ours.step, theirs], batches, ebno)
        row = {"fft_size": fft_size, "qam": qam, "rate": rate, "batch_size": batch,
               "coded_bits_per_batch": bits, "linksim_s_per_batch": round(t_ours, 4),
               "handwritten_s_per_batch": round(t_theirs, 4),
               "linksim_coded_bits_per_s": round(bits / t_ours),
               "handwritten_coded_bits_per_s": round(bits / t_theirs),
               "ratio": round(t_theirs / t_ours, 3)}
        table.append(row)
        rows.append(row)
        print(f"BLER pipeline Nf={fft_size} {qam}QAM r={rate}: linksim "
              f"{bits / t_ours / 1e6:.2f} Mbit/s, hand-written Sionna {bits / t_theirs / 1e6:.2f} "
              f"Mbit/s, ratio {t_theirs / t_ours:.3f}")
    write_json(out_dir / "bench.json", {"bler_pipeline": rows, "timed_batches": batches,
                                        "method": __doc__, "provenance": provenance()})
    return table_path
