"""Timing a system's compiled training step (the throughput modules of the systems share it).

The machine may be shared: beside the wall-clock rate, the CPU time per image
and the 1-minute load average are recorded.
"""
from __future__ import annotations

import os
import time
from typing import Any

import keras
import tensorflow as tf

CIFAR10_TRAIN = 50_000
"""Images in a CIFAR-10 training epoch."""


def time_train_steps(system: Any, data: tuple, images_per_step: int, steps: int,
                     learning_rate: float = 1e-3) -> dict[str, Any]:
    """Compile ``system.train_step`` (graph, no XLA), run it once, then time ``steps`` steps on ``data``.

    ``system.channel_sampler`` must be set. Returns ``compile_s``, ``s_per_step``,
    ``images_per_s``, ``epoch_min`` (a 50,000-image CIFAR-10 epoch at that
    rate), ``cpu_s_per_image``, ``cpu_cores_used``, ``load_avg_1min``, ``cpu_count``.
    """
    system.compile(optimizer=keras.optimizers.Adam(learning_rate))
    system.optimizer.build(system.trainable_variables)
    step = tf.function(system.train_step)
    t0 = time.perf_counter()
    float(step(data)["loss"])
    compile_s = time.perf_counter() - t0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        float(step(data)["loss"])
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    images = steps * images_per_step
    return {"batch_images": images_per_step, "steps": steps, "compile_s": round(compile_s, 1),
            "s_per_step": round(wall / steps, 2), "images_per_s": round(images / wall, 1),
            "epoch_min": round(CIFAR10_TRAIN / (images / wall) / 60, 1),
            "cpu_s_per_image": round(cpu / images, 4), "cpu_cores_used": round(cpu / wall, 2),
            "load_avg_1min": round(os.getloadavg()[0], 2), "cpu_count": os.cpu_count()}
