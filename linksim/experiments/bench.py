"""``python -m linksim bench``: throughput of linksim's pipelines and Table III, by parts.

Parts (``--only`` picks some; default all, in this order):

``link`` -- BLER pipeline: linksim's compiled Monte-Carlo step
(:class:`ErrorCounter`) against a minimal hand-written Sionna 1.2 chain doing
the same work (same blocks, same sizes, same XLA compilation) in the same
process. Batches of the two are interleaved and the median time per batch is
compared, so machine load affects both alike. The ratio (linksim /
hand-written coded bits per second) shows the overhead the framework adds;
the target is >= 0.9. Writes ``bler_pipeline.csv``.

``sscc`` -- SSCC pipeline: images per second end to end (rate control with
fresh codec caches, CRC + compiled link, decoding, PSNR/SSIM/MS-SSIM), per
codec. Writes ``sscc_pipeline.csv``.

``train`` -- semantic training pipeline: images per second through one
compiled training step (channel draw from a small bank, encoder, precoder,
channel, decoder, loss, backward, Adam) at N_f = 32, for ``full`` with the
paper's encoder and with the half-width one our scenarios train with, each
with the Dense and the convolutional latent (all with decoder width 1.5),
and for ``djscc``
(:func:`linksim.systems.scenario_adaptive.throughput.train_throughput`). The target is >= 200
images/s on this machine. Writes ``train_pipeline.csv``.

``systems`` -- training images per second of every registered learned
system that provides a ``benchmark`` (:class:`linksim.systems.base.System`),
each at its own reference scenario (seed 000: the 64-antenna JSCBF downlink
of ``scenarios/training/seed000_jscbf.yaml``, with its OMP and LMMSE
sounding); the CIFAR-10 epoch time it implies. Writes ``systems_train.csv``.

``ray`` -- sweep points per hour of the same small sweep (AWGN BLER, graph mode,
four curves of four Eb/N0 points, :data:`RAY_SWEEP`) in this process
(:class:`~linksim.experiments.engine.LocalExecutor`) and as Ray tasks on a
local Ray instance with 1 and 2 workers
(:class:`~linksim.experiments.ray_executor.RayExecutor`); the three run
interleaved, ``rounds`` times, each from a fresh kind (so every run compiles
its links), the workers' start-up (importing TensorFlow) outside the clock.
Ratios are against the single process; the target for 1 worker is >= 0.9.
Also checks the rows are the same in all three. Writes ``ray_scaling.csv``
and ``ray_scaling.json`` (method, load averages, cluster, provenance).

``complexity`` -- seed 003's Table III: parameters, weight memory and median
inference time per batch of each variant's encoder, precoder and decoder
(:mod:`linksim.systems.scenario_adaptive.complexity`). Writes ``complexity.csv``/``.json``/``.png``.

The rows of ``link``, ``sscc``, ``train`` and ``systems`` also go into ``bench.json``; a
run replaces the entries of the parts it ran and keeps the others, each part
with the provenance of the run that measured it (``runs``). The CLI switches
TensorFlow's oneDNN kernels on (``TF_ENABLE_ONEDNN_OPTS=1``, as for
training) unless the environment says otherwise; the train and complexity
rows record whether they were on.
"""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import sionna
import tensorflow as tf

from linksim.config import MCS, Scenario
from linksim.experiments.bler import ErrorCounter
from linksim.experiments.provenance import provenance
from linksim.experiments.results import ResultTable, write_json


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


def _reference_module():
    """The hand-written Sionna chain (:mod:`linksim.experiments.sionna_reference`) bench measures against."""
    from linksim.experiments import sionna_reference

    return sionna_reference


PARTS = ("link", "sscc", "train", "systems", "ray", "complexity")
#: images per second through the full training chain (GitHub issue's benchmark target)
TRAIN_TARGET_IMAGES_PER_S = 200


def run_bench(out_dir: Path, batches: int = 20, parts: tuple[str, ...] = PARTS) -> list[Path]:
    """Run the selected ``parts`` (module docstring) and write their files into ``out_dir``.

    ``batches`` is the number of timed batches (link, complexity) or
    training steps (train) per measurement. Returns the files written.
    """
    sionna.phy.config.seed = 1
    out_dir = Path(out_dir)
    measured: dict[str, list[dict]] = {}
    if "link" in parts:
        measured["bler_pipeline"] = bler_throughput(out_dir, batches)
    if "sscc" in parts:
        measured["sscc_pipeline"] = sscc_throughput(out_dir)
    if "train" in parts:
        measured["train_pipeline"] = train_pipeline(out_dir, steps=batches)
    if "systems" in parts:
        measured["systems_train"] = systems_throughput(out_dir, steps=max(1, batches // 5))
    files = [out_dir / f"{key}.csv" for key in measured]
    if measured:
        files.append(_update_bench_json(out_dir / "bench.json", measured, batches))
    if "ray" in parts:
        files += ray_scaling(out_dir)
    if "complexity" in parts:
        from linksim.experiments.complexity import run_complexity

        files += run_complexity(out_dir, runs=batches)
    return files


def _update_bench_json(path: Path, measured: dict[str, list[dict]], batches: int) -> Path:
    """Replace the entries of the parts just measured in ``bench.json``, keep the others."""
    old = json.loads(path.read_text()) if path.is_file() else {}
    keep = {k: old[k] for k in ("bler_pipeline", "sscc_pipeline", "train_pipeline", "systems_train")
            if k in old}
    # files written before the parts existed hold one top-level provenance for all rows
    legacy = {"timed_batches": old.get("timed_batches"), "provenance": old.get("provenance")}
    runs = {k: old.get("runs", {}).get(k, legacy) for k in keep}
    run = {"timed_batches": batches, "provenance": provenance()}
    data = {**keep, **measured, "method": __doc__,
            "train_target_images_per_s": TRAIN_TARGET_IMAGES_PER_S,
            "runs": {**runs, **{key: run for key in measured}}}
    write_json(path, data)
    return path


def bler_throughput(out_dir: Path, batches: int = 20) -> list[dict]:
    """linksim against hand-written Sionna, coded bits per second; writes ``bler_pipeline.csv``."""
    table_path = out_dir / "bler_pipeline.csv"
    table_path.unlink(missing_ok=True)
    table = ResultTable(table_path, ["fft_size", "qam", "rate", "batch_size", "coded_bits_per_batch",
                                     "linksim_s_per_batch", "handwritten_s_per_batch",
                                     "linksim_coded_bits_per_s", "handwritten_coded_bits_per_s",
                                     "ratio"])
    rows = []
    reference = _reference_module()
    ebno = tf.constant(6.0)
    for fft_size, qam, rate, batch in [(32, 4, 0.5, 64), (128, 16, 0.5, 64)]:
        sc = Scenario.model_validate({"ofdm": {"fft_size": fft_size}, "seed": 1})
        ours = ErrorCounter(sc, MCS(qam=qam, rate=rate), batch)
        theirs, bits = reference.handwritten_step(batch, fft_size, qam.bit_length() - 1, rate)
        assert bits == ours.link.n * 4 * batch
        no = ours.link.noise_variance(ebno)                    # the link takes N0
        t_ours, t_theirs = _median_times([lambda _: ours.step(no), theirs], batches, ebno)
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
    return rows


def train_pipeline(out_dir: Path, steps: int = 20, batch_slots: int = 32,
                   bank_size: int = 64) -> list[dict]:
    """Training images per second, N_f = 32, per configuration; writes ``train_pipeline.csv``.

    ``full`` at encoder widths 1.0 (the paper) and 0.5 (our scenarios), each
    with the paper's Dense latent and the convolutional one, all with decoder
    width 1.5, and ``djscc``; ``batch_slots`` x K images per
    step, channels from a bank of ``bank_size`` slots per channel model
    (cached on disk), ``steps`` timed steps after the compilation.
    """
    from linksim.systems.scenario_adaptive.throughput import train_throughput

    sc = Scenario.model_validate({"ofdm": {"fft_size": 32}, "seed": 1})
    table_path = out_dir / "train_pipeline.csv"
    table_path.unlink(missing_ok=True)
    table: ResultTable | None = None
    rows = []
    for model, encoder_width, latent in (("full", 1.0, "dense"), ("full", 1.0, "conv"),
                                         ("full", 0.5, "dense"), ("full", 0.5, "conv"),
                                         ("djscc", 1.0, "dense")):
        row = train_throughput(sc, model, encoder_width=encoder_width, decoder_width=1.5,
                               latent=latent, batch_slots=batch_slots, steps=steps,
                               bank_size=bank_size)
        if table is None:  # the columns are the fields train_throughput reports
            table = ResultTable(table_path, list(row))
        table.append(row)
        rows.append(row)
        met = "met" if row["images_per_s"] >= TRAIN_TARGET_IMAGES_PER_S else "not met"
        widths = ("" if row["encoder_width"] is None
                  else f" widths {row['encoder_width']}/{row['decoder_width']}, {latent} latent")
        print(f"Training pipeline Nf=32 {model}{widths}: {row['images_per_s']} images/s "
              f"({row['batch_images']} images per step, oneDNN {'on' if row['onednn'] else 'off'}, "
              f"{row['cpu_cores_used']} cores used, load {row['load_avg_1min']}) -- target >= "
              f"{TRAIN_TARGET_IMAGES_PER_S} images/s: {met}")
    return rows


def systems_throughput(out_dir: Path, steps: int = 4) -> list[dict]:
    """Every registered system's own ``benchmark(steps)`` rows; writes ``systems_train.csv``."""
    from linksim.registry import SYSTEMS

    rows = []
    for name in SYSTEMS:
        system = SYSTEMS[name]
        if system.benchmark is None:
            continue
        for row in system.benchmark(steps):
            rows.append({"system": name, **{k: (json.dumps(v) if isinstance(v, (dict, list)) else v)
                                           for k, v in row.items()}})
            print(f"Training {name} {row.get('label', row.get('model', ''))}: "
                  f"{row['images_per_s']} images/s, CIFAR-10 epoch {row['epoch_min']} min "
                  f"(load {row.get('load_avg_1min')})")
    path = out_dir / "systems_train.csv"
    path.unlink(missing_ok=True)
    if rows:
        columns = list(dict.fromkeys(k for row in rows for k in row))
        table = ResultTable(path, columns)
        for row in rows:
            table.append({k: row.get(k, "") for k in columns})
    return rows


def sscc_throughput(out_dir: Path, num_images: int = 128, snr_db: float = 25.0) -> list[dict]:
    """Images per second through the SSCC experiment's pipeline; writes ``sscc_pipeline.csv``.

    UMi, Nf = 32, 16QAM r=1/2, XLA, the scikit-image photographs (available
    offline); at 25 dB most images arrive, so decoding is timed too. The link
    is compiled and warmed up first; each codec starts with empty caches.
    """
    from linksim.data import load_images
    from linksim.experiments import sscc
    from linksim.source import CODECS

    images = load_images("samples").images[:num_images]
    sc = Scenario.model_validate({"ofdm": {"fft_size": 32}, "seed": 1})
    tr = sscc.SSCCTransceiver(sc, MCS(qam=16, rate=0.5), batch_size=len(images) // sc.ue.num_users)
    warm = sscc.MemoCodec(CODECS["jpeg"]())
    sscc.transmit(tr, warm, sc, images, sscc.encode_for_budget(warm, images, tr.payload_bits), snr_db)
    table_path = out_dir / "sscc_pipeline.csv"
    table_path.unlink(missing_ok=True)
    table = ResultTable(table_path, ["codec", "backend", "images", "snr_db", "success_rate",
                                     "encode_s", "link_and_decode_s", "metrics_s", "images_per_s"])
    rows = []
    for name in CODECS:
        codec = sscc.MemoCodec(CODECS[name]())
        t0 = time.perf_counter()
        encoded = sscc.encode_for_budget(codec, images, tr.payload_bits)
        t1 = time.perf_counter()
        outcome = sscc.transmit(tr, codec, sc, images, encoded, snr_db)
        t2 = time.perf_counter()
        metrics = sscc.score(images, outcome)
        t3 = time.perf_counter()
        row = {"codec": name, "backend": codec.backend, "images": len(images), "snr_db": snr_db,
               "success_rate": round(metrics["success_rate"], 3), "encode_s": round(t1 - t0, 3),
               "link_and_decode_s": round(t2 - t1, 3), "metrics_s": round(t3 - t2, 3),
               "images_per_s": round(len(images) / (t3 - t0), 1)}
        table.append(row)
        rows.append(row)
        print(f"SSCC pipeline {name} ({codec.backend}): {row['images_per_s']} images/s end to end "
              f"(encode {row['encode_s']} s, link + decode {row['link_and_decode_s']} s, "
              f"metrics {row['metrics_s']} s for {len(images)} images)")
    return rows


#: the sweep of the ``ray`` part: 2 MCS x 2 grid widths over AWGN, 4 Eb/N0 points each
RAY_SWEEP = {
    "name": "bench_ray", "seed": 3, "channel": {"model": "awgn"}, "runtime": {"mode": "graph"},
    "experiments": [{
        "kind": "bler", "name": "bench_ray", "mcs": [{"qam": 4, "rate": 0.5}, {"qam": 16, "rate": 0.5}],
        "sweep": {"ofdm.fft_size": [32, 64]}, "ebno_db": [0.0, 1.0, 2.0, 3.0], "batch_size": 16,
        "target_block_errors": 1000, "max_blocks": 512, "min_bler": 0.0}],
}
#: Ray's points per hour with 1 worker against the single process (GitHub issue's target)
RAY_TARGET_RATIO = 0.9


def ray_scaling(out_dir: Path, rounds: int = 2, workers: tuple[int, ...] = (1, 2)) -> list[Path]:
    """Points per hour: one process vs Ray with each of ``workers``; writes ``ray_scaling.csv``/``.json``."""
    import os
    import tempfile

    from linksim.experiments.bler import COLUMNS, BLERSweep
    from linksim.experiments.engine import run_sweep
    from linksim.experiments.ray_executor import RayExecutor, import_ray, start_local

    sc = Scenario.model_validate(RAY_SWEEP)
    exp = sc.experiments[0]
    names = ["single process"] + [f"ray, {n} worker{'s' * (n > 1)}" for n in workers]
    elapsed, start_s = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)
    loads, rows, points, cluster = [], {}, 0, None
    start_local()
    try:
        for _ in range(rounds):
            for name, n in zip(names, (None, *workers)):  # one executor at a time: n actors, n CPUs
                ex = RayExecutor(workers=n) if n else None
                if ex:
                    start_s[name] += ex.start()      # importing TensorFlow: outside the clock
                loads.append(os.getloadavg()[0])
                with tempfile.TemporaryDirectory() as tmp:
                    t = time.perf_counter()
                    result = run_sweep(BLERSweep(sc, exp), Path(tmp), executor=ex)
                    elapsed[name] += time.perf_counter() - t
                    got = sorted(tuple(v for k, v in r.items() if k != "wall_s")
                                 for r in ResultTable(result.path, COLUMNS).rows())
                if ex:
                    cluster = ex.describe()
                    ex.close()
                rows.setdefault(name, got)
                points = result.points_run
    finally:
        import_ray().shutdown()
    identical = all(r == rows["single process"] for r in rows.values())
    base = rounds * points / elapsed["single process"] * 3600
    table_path = out_dir / "ray_scaling.csv"
    table_path.unlink(missing_ok=True)
    table = ResultTable(table_path, ["executor", "workers", "points", "rounds", "elapsed_s",
                                     "points_per_hour", "ratio", "worker_start_s", "rows_identical"])
    for name, n in zip(names, (1, *workers)):
        rate = rounds * points / elapsed[name] * 3600
        row = {"executor": name, "workers": n,
               "points": points, "rounds": rounds, "elapsed_s": round(elapsed[name], 1),
               "points_per_hour": round(rate), "ratio": round(rate / base, 3),
               "worker_start_s": round(start_s[name] / rounds, 1), "rows_identical": identical}
        table.append(row)
        print(f"Ray scaling, {name}: {row['points_per_hour']} points/h, ratio {row['ratio']} "
              f"(workers' start-up {row['worker_start_s']} s outside the clock)")
    meta_path = out_dir / "ray_scaling.json"
    write_json(meta_path, {"method": ray_scaling.__doc__ + " " + __doc__.split("``ray`` -- ")[1].split("\n\n")[0],
                           "sweep": RAY_SWEEP, "target_ratio_1_worker": RAY_TARGET_RATIO,
                           "cluster": cluster, "load_avg_1min_before_each_run": loads,
                           "rows_identical": identical, "provenance": provenance()})
    return [table_path, meta_path]
