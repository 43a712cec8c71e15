"""Seed 003's Table III: size and inference time of each variant's encoder, precoder and decoder.

For every variant of :data:`VARIANTS_TABLE` except ``zf`` (the same
networks as ``full``, only alpha differs) and every grid width N_f, each
component is measured on its own:

- parameters: :meth:`SemanticSystem.component_parameters` (every weight,
  BatchNorm statistics included, as Table III counts them);
- weight memory: parameters x 4 bytes (float32), in MB = 2**20 bytes;
- inference time: the median wall-clock time per batch of ``runs`` timed
  calls (after ``warmup`` untimed ones) of the component alone with
  ``training=False``, compiled with ``tf.function`` (graph mode, no XLA:
  XLA is slower for these networks on CPU, see
  :mod:`linksim.systems.scenario_adaptive.throughput`), and that time divided by the images
  of the batch (a slot carries K images, one per user).

Why the components are timed apart rather than the chain: the encoder and
precoder run at the BS and the decoder at each UE, on different hardware,
which is what Table III compares. Their inputs are the real intermediate
tensors of one forward pass of the whole system (recorded as each component
is called), so shapes and value ranges are those of the chain; the channel is
i.i.d. Rayleigh per resource element and the SNR uniform in the training
range, because the cost of the networks and of the RZF solves does not depend
on the values. Times are of this machine and its load when measured (the
JSON records CPU count, oneDNN and the load average).
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import keras
import tensorflow as tf

from linksim.config import Scenario
from linksim.phy.noise import snr_db_to_no
from linksim.systems.scenario_adaptive.model import VARIANTS as VARIANTS_TABLE
from linksim.systems.scenario_adaptive.model import SemanticSystem

COMPONENTS = ("encoder", "precoder", "decoder")
VARIANTS = tuple(name for name in VARIANTS_TABLE if name != "zf")
#: (encoder_width, decoder_width): the paper's sizes (Table III's counts), and the
#: narrower encoder our scenarios train with (scenarios/umi_4x4.yaml).
PAPER_WIDTHS = (1.0, 1.5)
TRAINED_WIDTHS = (0.5, 1.5)
BYTES_PER_MB = 2 ** 20
COLUMNS = ("fft_size", "variant", "encoder_width", "decoder_width", "component", "parameters",
           "weights_mb", "batch_slots", "batch_images", "timed_runs", "median_s_per_batch",
           "min_s_per_batch", "median_ms_per_image")


def weights_mb(parameters: int) -> float:
    """Memory of ``parameters`` float32 weights in MB (2**20 bytes)."""
    return parameters * 4 / BYTES_PER_MB


@contextmanager
def recording_inputs(layers: dict[str, keras.layers.Layer]) -> Iterator[dict[str, tuple]]:
    """Record the positional inputs of each layer's first call while the block runs.

    The recorder wraps the instance's ``call`` (Keras' ``__call__`` looks it
    up on the instance), so the system's own ``call`` decides what each
    component receives; the wrappers are removed on exit. The layers must be
    built: Keras builds a layer through a symbolic call with keyword inputs.

    Yields
    ------
    dict
        ``{name: (input tensors, ...)}``, filled as the layers are called.
    """
    seen: dict[str, tuple] = {}

    def wrap(name: str, call: Callable) -> Callable:
        def recorded(*args, **kwargs):
            seen.setdefault(name, args)
            return call(*args, **kwargs)
        return recorded

    for name, layer in layers.items():
        layer.call = wrap(name, layer.call)
    try:
        yield seen
    finally:
        for layer in layers.values():
            del layer.call


def component_inputs(system: SemanticSystem, batch_slots: int,
                     seed: int = 1) -> dict[str, tuple[tf.Tensor, ...]]:
    """Inputs of the encoder, precoder and decoder in one eager forward pass of ``system``.

    Parameters
    ----------
    system : SemanticSystem
        Any variant; built here if it is not.
    batch_slots : int
        Slots B of the batch (B x K images).
    seed : int
        Seed of the random images, channel and SNRs.

    Returns
    -------
    dict
        ``encoder``: images [B*K, 32, 32, 3] tf.float32, csi [B*K, fft_size,
        num_bs_ant] tf.float32, no [B*K] tf.float32; ``precoder``: grid
        [B, 1, K, num_ofdm_symbols, fft_size] tf.complex64, h [B, K, 1, 1,
        num_bs_ant, num_ofdm_symbols, fft_size] tf.complex64, no [B]
        tf.float32; ``decoder``: y and pilots [B*K, num_ofdm_symbols,
        fft_size] tf.complex64, no [B*K] tf.float32.
    """
    sc = system.scenario
    k, m = sc.ue.num_users, sc.bs.array.num_ant
    shape = [batch_slots, k, 1, 1, m, sc.ofdm.num_ofdm_symbols, sc.ofdm.fft_size]
    re, im = (tf.random.stateless_normal(shape, [seed, i]) for i in (1, 2))
    h = tf.complex(re, im) / tf.cast(tf.sqrt(2.0), tf.complex64)
    snr_db = tf.random.stateless_uniform([batch_slots], [seed, 3], *sc.semantic.train_snr_db)
    inputs = {"images": tf.random.stateless_uniform([batch_slots, k, 32, 32, 3], [seed, 4]),
              "h": h, "no": snr_db_to_no(snr_db)}
    if not system.built:
        system.build()
    with recording_inputs({name: getattr(system, name) for name in COMPONENTS}) as seen:
        system(inputs)
    return seen


def median_call_time(layer: keras.layers.Layer, inputs: tuple[tf.Tensor, ...], runs: int,
                     warmup: int = 2) -> tuple[float, float]:
    """(median, min) seconds per call of ``layer(*inputs, training=False)`` in a tf.function.

    The inputs are arguments of the compiled function, not captured
    constants, so graph optimisation cannot fold the computation away; the
    outputs are fetched to NumPy inside the timed interval.
    """
    fn = tf.function(layer)  # keyed by the layer: TF's retracing warning stays quiet
    for _ in range(warmup):  # trace, then untimed runs to settle caches
        fn(*inputs, training=False)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        tf.nest.map_structure(lambda x: x.numpy(), fn(*inputs, training=False))
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def system_rows(system: SemanticSystem, batch_slots: int, runs: int, warmup: int = 2) -> list[dict]:
    """One Table III row per component of ``system`` (see :data:`COLUMNS`)."""
    inputs = component_inputs(system, batch_slots)
    params = system.component_parameters()
    widths = system.variant.codec != "djscc"  # DJSCC has one fixed size
    images = batch_slots * system.scenario.ue.num_users
    rows = []
    for name in COMPONENTS:
        median, fastest = median_call_time(getattr(system, name), inputs[name], runs, warmup)
        rows.append({
            "fft_size": system.scenario.ofdm.fft_size, "variant": system.model_name,
            "encoder_width": system.encoder_width if widths else None,
            "decoder_width": system.decoder_width if widths else None,
            "component": name, "parameters": params[name],
            "weights_mb": round(weights_mb(params[name]), 4), "batch_slots": batch_slots,
            "batch_images": images, "timed_runs": runs,
            "median_s_per_batch": round(median, 5), "min_s_per_batch": round(fastest, 5),
            "median_ms_per_image": round(1e3 * median / images, 4)})
    return rows


def complexity_rows(fft_sizes: Sequence[int] = (32, 128), variants: Sequence[str] = VARIANTS,
                    widths: Sequence[tuple[float, float]] = (PAPER_WIDTHS, TRAINED_WIDTHS),
                    batch_slots: int = 64, runs: int = 20, warmup: int = 2,
                    seed: int = 1) -> list[dict]:
    """Table III rows for every N_f, variant and (encoder, decoder) width pair.

    ``djscc`` has no widths and is measured once per N_f (its width columns
    are empty). Scenarios are Table II's defaults with ``ofdm.fft_size``
    set; ``seed`` seeds the random inputs (the weights are freshly
    initialised: their values do not change the cost).
    """
    rows = []
    for fft_size in fft_sizes:
        scenario = Scenario.model_validate({"ofdm": {"fft_size": fft_size}, "seed": seed})
        for variant in variants:
            pairs = widths if VARIANTS_TABLE[variant].codec != "djscc" else widths[:1]
            for encoder_width, decoder_width in pairs:
                system = SemanticSystem(scenario, variant, encoder_width=encoder_width,
                                        decoder_width=decoder_width)
                rows += system_rows(system, batch_slots, runs, warmup)
                print(_summary(rows[-len(COMPONENTS):]))
    return rows


def _summary(rows: list[dict]) -> str:
    r = rows[0]
    size = ("" if r["encoder_width"] is None
            else f" widths {r['encoder_width']}/{r['decoder_width']}")
    parts = [f"{x['component']} {x['parameters'] / 1e6:.3f} M, {x['median_s_per_batch']:.4f} s"
             for x in rows]
    return (f"Table III Nf={r['fft_size']} {r['variant']}{size} (per {r['batch_images']} images): "
            + "; ".join(parts))
