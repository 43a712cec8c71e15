"""Training throughput of the JSCBF system, the CIFAR-10 epoch it implies, and the paper-width cost.

What is timed is one compiled :meth:`JSCBFSystem.train_step` (graph mode, no
XLA): sparse-multipath channel and SNR draw, BS sounding + estimator, Swin
encoder, CSI extractor, fusion, unfolded WMMSE + data-driven beamformer,
power normalisation, channel with AWGN, Swin decoder, loss, backward pass and
the Adam update. Random pixels stand in for images. The machine may be
shared: the CPU time per image and the 1-minute load average are recorded
beside the wall-clock rate (:func:`linksim.systems.timing.time_train_steps`).
"""
from __future__ import annotations

import os
import time

import tensorflow as tf

from linksim.config import Scenario
from linksim.nn.channel import OnlineChannels
from linksim.systems.jscbf.config import PAPER_WIDTHS, JSCBFConfig
from linksim.systems.jscbf.model import build_system
from linksim.systems.timing import time_train_steps

REFERENCE = {
    "seed": 0, "runtime": {"mode": "graph"},
    "ofdm": {"fft_size": 64, "num_ofdm_symbols": 2, "pilot_ofdm_symbol_indices": [0],
             "cyclic_prefix_length": 4},
    "channel": {"model": "sparse_multipath", "num_paths": 2},
    "bs": {"array": {"num_rows": 8, "num_cols": 8, "polarization": "single",
                     "polarization_type": "V", "pattern": "omni"}},
    "ue": {"num_users": 4},
    "sounding": {"num_pilots": 32, "estimator": "omp"},
    "semantic": {"system": "jscbf", "model": "jscbf", "num_tx_ant": 64, "upa": [8, 8],
                 "num_symbols": 2, "bs_csi": "estimated", "loss": "mse+ms_ssim",
                 "train_channels": ["sparse_multipath"], "train_snr_db": [0.0, 25.0],
                 "batch_size": 16},
}
"""The link of ``scenarios/training/seed000_jscbf.yaml`` (a test keeps the two equal): the
bench's reference scenario, which must not depend on the repository's files."""


def benchmark(steps: int = 4) -> list[dict]:
    """``linksim bench --only systems`` rows: :func:`train_throughput` at :data:`REFERENCE`.

    Two rows, the BS sounding with OMP (the trained models') and with LMMSE:
    the first measures the system as trained, the ratio of the two the cost of
    the sparse estimator inside every training step.
    """
    base = Scenario.model_validate(REFERENCE)
    rows = []
    for estimator in ("omp", "lmmse"):
        sc = base.model_copy(update={"sounding": base.sounding.model_copy(
            update={"estimator": estimator})})
        row = train_throughput(sc, batch_slots=base.semantic.batch_size, steps=steps)
        rows.append({"label": f"{row['model']}, {estimator} sounding L = "
                              f"{sc.sounding.num_pilots}", "sounding": estimator, **row})
    return rows


def train_throughput(scenario: Scenario, cfg: JSCBFConfig | None = None, batch_slots: int = 8,
                     steps: int = 4, channel: str = "sparse_multipath") -> dict:
    """Time ``steps`` compiled training steps of ``batch_slots`` slots (K images each).

    Returns ``images_per_s`` (wall clock), ``epoch_min`` (a 50000-image
    CIFAR-10 epoch at that rate), ``s_per_step``, ``cpu_s_per_image``,
    ``compile_s``, ``parameters`` (per block and total), ``load_avg_1min`` and
    the configuration.
    """
    cfg = cfg or scenario.semantic
    system = build_system(scenario, cfg)
    system.channel_sampler = OnlineChannels(scenario, (channel,), cfg.train_snr_db)
    k, s = scenario.ue.num_users, cfg.image_size
    data = (tf.random.uniform([batch_slots, k, s, s, 3]), tf.zeros([batch_slots, k], tf.int32))
    timing = time_train_steps(system, data, batch_slots * k, steps)
    parts = system.component_parameters()
    return {"model": cfg.model, "fft_size": scenario.ofdm.fft_size, "num_tx_ant": cfg.num_tx_ant,
            "num_users": k, "num_symbols": cfg.num_symbols, "image_size": s,
            "embed_dims": list(cfg.embed_dims), "depths": list(cfg.depths),
            "d_model": cfg.d_model, "wmmse_layers": cfg.wmmse_layers,
            "parameters": {**parts, "total": sum(parts.values())}, **timing}


def paper_cost(train_images: int = 100_000, paper_batch: int = 16) -> dict:
    """Parameters of the model at the paper's sizes (:data:`PAPER_WIDTHS`) and the timed cost of its codec.

    256 x 256 images, K = 4, 8 x 8 UPA, N_c = 64, Q = 128 (more OFDM symbols
    than linksim's grid allows, so the model is built directly). A whole
    training step does not fit in a 5-minute budget on 2 shared cores, so
    what is timed is one compiled forward + backward pass of the Swin
    encoder and decoder on one image (the dominant cost: they hold half the
    weights and all the 128 x 128-token attention); the epoch estimate
    (``train_images`` ImageNet images, the paper's split) is a lower bound.
    Measured 2026-12-07 on this machine, load average 6.7: 35.95 M weights,
    10.4 s (6.2 CPU s) per image, i.e. >= 166 s per paper step of 16 images
    and >= 289 h per epoch.
    """
    from linksim.systems.jscbf.model import ARCH_KEYS, JSCBFSystem

    sc = Scenario.model_validate({
        "runtime": {"mode": "graph"}, "ofdm": {"fft_size": 64, "num_ofdm_symbols": 14},
        "channel": {"model": "sparse_multipath"}, "ue": {"num_users": 4},
        "bs": {"array": {"num_rows": 8, "num_cols": 8, "polarization": "single",
                         "polarization_type": "V", "pattern": "omni"}},
        "semantic": {"system": "jscbf", **PAPER_WIDTHS, "num_tx_ant": 64, "upa": [8, 8],
                     "bs_csi": "perfect"}})
    cfg = sc.semantic
    system = JSCBFSystem(sc, "jscbf", image_size=cfg.image_size,
                         **{k: getattr(cfg, k) for k in ARCH_KEYS})
    system.build()
    parts = system.component_parameters()
    enc, dec, q = system.encoder, system.decoder, cfg.num_symbols

    @tf.function
    def codec_step(x):
        with tf.GradientTape() as tape:
            features = enc(x)                                                 # [1, N_c, image_dim]
            y = tf.concat([features, features], -1)[..., : 2 * q]             # [1, N_c, 2Q]
            loss = tf.reduce_mean(tf.square(dec(y) - x))
        return tape.gradient(loss, enc.trainable_variables + dec.trainable_variables)

    x = tf.random.uniform([1, cfg.image_size, cfg.image_size, 3])
    t0 = time.perf_counter()
    codec_step(x)
    compile_s = time.perf_counter() - t0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    codec_step(x)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"parameters": {**parts, "total": sum(parts.values())}, "compile_s": round(compile_s, 1),
            "codec_s_per_image": round(wall, 2), "codec_cpu_s_per_image": round(cpu, 2),
            "s_per_paper_step_lower_bound": round(wall * paper_batch, 1),
            "epoch_h_lower_bound": round(wall * train_images / 3600, 1),
            "load_avg_1min": round(os.getloadavg()[0], 2)}
