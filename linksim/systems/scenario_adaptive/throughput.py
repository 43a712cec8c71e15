"""Training throughput of a semantic system: images per second through the whole chain.

What is timed is one compiled :meth:`SemanticSystem.train_step`: channel and
SNR draw from a bank of 38.901 channels, encoder, grid mapping, precoder,
channel with AWGN, decoder, loss, backward pass through all of it and the
Adam update. Random pixels stand in for images (the cost does not depend on
them).

The machine may be shared, so besides wall-clock images per second the
result records the CPU time this process used per image and the 1-minute
load average. On an otherwise idle machine with ``cpu_count`` cores,
``images_per_cpu_second x cpu_count`` bounds the throughput from above
(perfect parallel scaling); the ratio of the two single-/multi-thread rates
says how close to that bound it gets.

Speed notes (2 AMD EPYC cores, TF 2.21): TensorFlow's oneDNN kernels are
off by default on this CPU and must be switched on with
``TF_ENABLE_ONEDNN_OPTS=1`` *before* TensorFlow is imported (1.6x faster
convolutions); XLA (``jit_compile=True``) makes this model slower on CPU (its
convolutions, depthwise ones above all, are not oneDNN's), so graph mode is
the default.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import keras
import tensorflow as tf
from tensorflow.python.util import _pywrap_util_port  # oneDNN status (no public API)

from linksim.config import Scenario
from linksim.nn.channel import DEFAULT_CACHE, ChannelBank
from linksim.systems.scenario_adaptive.model import build_system


def onednn_enabled() -> bool:
    """Whether this process's TensorFlow runs oneDNN kernels (fixed when TF is imported)."""
    return bool(_pywrap_util_port.IsMklEnabled())


def train_throughput(scenario: Scenario, model: str = "full", encoder_width: float = 1.0,
                     decoder_width: float = 1.0, latent: str = "dense",
                     batch_slots: int = 64, steps: int = 8,
                     jit_compile: bool = False, channels: tuple[str, ...] = ("umi", "uma", "rma"),
                     bank_size: int = 64, cache_dir: Path | None = DEFAULT_CACHE) -> dict:
    """Time ``steps`` compiled training steps of ``batch_slots`` slots (K images each).

    Returns
    -------
    dict
        ``images_per_s`` (wall clock), ``cpu_s_per_image`` (this process),
        ``images_per_cpu_s``, ``cpu_cores_used``, ``load_avg_1min`` (sampled
        after the timed steps), ``compile_s`` (trace + first step), plus the
        configuration (model, N_f, widths and latent -- None for ``djscc``,
        which has neither --, batch, channel bank size, XLA, oneDNN, threads).
    """
    system = build_system(scenario, scenario.semantic.model_copy(update={
        "model": model, "encoder_width": encoder_width, "decoder_width": decoder_width,
        "latent": latent}))
    system.channel_sampler = ChannelBank(scenario, channels, size=bank_size,
                                         seed=scenario.seed, cache_dir=cache_dir)
    system.compile(optimizer=keras.optimizers.Adam(1e-3))
    system.optimizer.build(system.trainable_variables)
    step = tf.function(system.train_step, jit_compile=jit_compile)
    k = scenario.ue.num_users
    data = (tf.random.uniform([batch_slots, k, 32, 32, 3]), tf.zeros([batch_slots, k], tf.int32))
    t0 = time.perf_counter()
    float(step(data)["loss"])
    compile_s = time.perf_counter() - t0
    float(step(data)["loss"])
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        float(step(data)["loss"])
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    images = steps * batch_slots * k
    widths = system.variant.codec != "djscc"
    return {
        "model": model, "fft_size": scenario.ofdm.fft_size,
        "encoder_width": encoder_width if widths else None,
        "decoder_width": decoder_width if widths else None,
        "latent": latent if widths else None,
        "parameters": sum(system.component_parameters().values()),
        "batch_images": batch_slots * k, "steps": steps, "bank_size": bank_size,
        "jit_compile": jit_compile, "onednn": onednn_enabled(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "compile_s": round(compile_s, 1), "images_per_s": round(images / wall, 1),
        "cpu_s_per_image": round(cpu / images, 5), "images_per_cpu_s": round(images / cpu, 1),
        "cpu_cores_used": round(cpu / wall, 2), "load_avg_1min": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
    }
