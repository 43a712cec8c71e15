"""Monte-Carlo BLER/BER vs Eb/N0 sweeps of the coded downlink (seed 003 Fig. 7).

For each curve (one combination of the experiment's ``sweep`` values and one
MCS) and each Eb/N0 point, batches of slots are simulated until
``target_block_errors`` block errors or ``max_blocks`` blocks. A block is one
user's LDPC codeword in one slot. Each finished point is appended to the CSV
immediately, with its own derived seed, so results are reproducible point by
point and an interrupted sweep resumes where it stopped.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import sionna
import tensorflow as tf

from linksim.config import MCS, BLERExperiment, Scenario, expand_sweep, sweep_label, with_overrides
from linksim.experiments.provenance import derived_seed, provenance, stable_hash
from linksim.experiments.results import ResultTable, write_json
from linksim.phy.link import build_link
from linksim.runtime import compiled

COLUMNS = (
    "experiment", "curve", "channel", "fft_size", "csi", "precoder", "estimator", "equalizer",
    "qam", "rate", "k", "n", "ebno_db", "no", "blocks", "block_errors", "bits", "bit_errors",
    "bler", "ber", "batches", "wall_s", "seed", "config_hash",
)


@dataclass(frozen=True)
class Curve:
    """One BLER curve: a resolved scenario and an MCS."""

    overrides: dict[str, Any]
    mcs: MCS
    scenario: Scenario

    @property
    def label(self) -> str:
        return ", ".join(p for p in (sweep_label(self.overrides), self.mcs.label) if p)


def curves(scenario: Scenario, exp: BLERExperiment) -> list[Curve]:
    """Every (sweep combination, MCS) of ``exp``, in file order."""
    out = []
    for point in expand_sweep(exp.sweep):
        resolved = with_overrides(scenario, point)
        out.extend(Curve(point, mcs, resolved) for mcs in exp.mcs)
    return out


def curve_hash(curve: Curve, exp: BLERExperiment) -> str:
    """Identifies everything that changes a curve's numbers (not its name or other experiments)."""
    system = curve.scenario.model_dump(mode="json", exclude={"name", "description", "experiments"})
    mc = exp.model_dump(mode="json", include={"batch_size", "target_block_errors", "max_blocks"})
    system["runtime"].pop("mode")  # how it is compiled does not change what is simulated
    return stable_hash({"system": system, "mcs": curve.mcs.model_dump(), "mc": mc})


class ErrorCounter:
    """One compiled Monte-Carlo step: simulate a batch, count errors.

    Input
    -----
    no : scalar tf.float32
        N0 of the point (``link.noise_variance(ebno_db)``, converted once per point).

    Output
    ------
    bit_errors, block_errors : scalar tf.int64
        Over ``batch_size * num_users`` codewords of ``k`` bits each.
    """

    def __init__(self, scenario: Scenario, mcs: MCS, batch_size: int):
        self.link = build_link(scenario, mcs)
        self.batch_size = batch_size
        self.step: Callable = compiled(self._step, scenario.runtime.mode, reduce_retracing=True)

    def _step(self, no):
        bits, bits_hat = self.link(self.batch_size, no)
        wrong = tf.not_equal(bits, bits_hat)
        bit_errors = tf.reduce_sum(tf.cast(wrong, tf.int64))
        block_errors = tf.reduce_sum(tf.cast(tf.reduce_any(wrong, axis=-1), tf.int64))
        return bit_errors, block_errors


def run_bler(scenario: Scenario, exp: BLERExperiment, out_dir: Path,
             progress: Callable[..., Any] | None = None) -> Path:
    """Run (or resume) ``exp``; returns the CSV path. ``progress`` is a tqdm-like factory."""
    out_dir = Path(out_dir)
    table = ResultTable(out_dir / f"{exp.name}.csv", COLUMNS)
    meta_path = out_dir / f"{exp.name}.json"
    all_curves = curves(scenario, exp)
    ebnos = exp.ebno_values()
    meta = {
        "experiment": exp.model_dump(mode="json"),
        "scenario": scenario.model_dump(mode="json", exclude={"experiments"}),
        "curves": [{"label": c.label, "overrides": c.overrides, "mcs": c.mcs.model_dump(),
                    "config_hash": curve_hash(c, exp)} for c in all_curves],
        "provenance": provenance(),
        "notes": "Eb/N0 per information bit of one user's stream (each stream carries P/K per RE, "
                 "P from precoder.power; pilot and CP overhead counted). "
                 "A block is one user's LDPC codeword in one slot.",
    }
    write_json(meta_path, meta)

    done = {(r["config_hash"], float(r["ebno_db"])): r
            for r in table.keep_only(curve_hash(c, exp) for c in all_curves)}
    bar = progress(total=len(all_curves) * len(ebnos), desc=exp.name, unit="pt") if progress else None
    wall_total = 0.0
    for curve in all_curves:
        h = curve_hash(curve, exp)
        counter = None
        for ebno in ebnos:
            row = done.get((h, ebno))
            if row is None:
                counter = counter or ErrorCounter(curve.scenario, curve.mcs, exp.batch_size)
                row = _simulate_point(counter, curve, exp, ebno, h, bar)
                table.append(row)
                wall_total += float(row["wall_s"])
            if bar:
                bar.update(1)
            if int(row["block_errors"]) == 0 or float(row["bler"]) < exp.min_bler:
                if bar:
                    bar.update(len(ebnos) - ebnos.index(ebno) - 1)
                break
    if bar:
        bar.close()
    hashes = {c["config_hash"] for c in meta["curves"]}
    meta["wall_s_this_run"] = round(wall_total, 1)
    meta["wall_s_all_points"] = round(sum(float(r["wall_s"]) for r in table.rows()
                                          if r["config_hash"] in hashes), 1)
    write_json(meta_path, meta)
    return table.path


def _simulate_point(counter: ErrorCounter, curve: Curve, exp: BLERExperiment, ebno: float,
                    config_hash: str, bar) -> dict[str, Any]:
    import time

    seed = derived_seed(curve.scenario.seed, config_hash, ebno)
    sionna.phy.config.seed = seed
    link = counter.link
    blocks_per_batch = exp.batch_size * link.codewords_per_slot
    bit_err = blk_err = blocks = batches = 0
    no = link.noise_variance(tf.constant(ebno, tf.float32))   # Eb/N0 -> N0 once; Eb/N0 is the label
    start = time.perf_counter()
    while blocks < exp.max_blocks and blk_err < exp.target_block_errors:
        be, ble = counter.step(no)
        bit_err += int(be)
        blk_err += int(ble)
        blocks += blocks_per_batch
        batches += 1
        if bar:
            bar.set_postfix_str(f"{curve.label} @ {ebno:g} dB: BLER {blk_err / blocks:.3g}")
    wall = time.perf_counter() - start
    sc = curve.scenario
    return {
        "experiment": exp.name, "curve": curve.label, "channel": sc.channel.model,
        "fft_size": sc.ofdm.fft_size, "csi": sc.receiver.csi, "precoder": sc.precoder.name,
        "estimator": sc.receiver.estimator if sc.receiver.csi == "estimated" else "perfect",
        "equalizer": sc.receiver.equalizer, "qam": curve.mcs.qam, "rate": curve.mcs.rate,
        "k": link.k, "n": link.n, "ebno_db": ebno, "no": float(no),
        "blocks": blocks, "block_errors": blk_err, "bits": blocks * link.k,
        "bit_errors": bit_err, "bler": blk_err / blocks, "ber": bit_err / (blocks * link.k),
        "batches": batches, "wall_s": round(wall, 3), "seed": seed, "config_hash": config_hash,
    }
