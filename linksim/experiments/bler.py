"""Monte-Carlo BLER/BER vs Eb/N0 sweeps of the coded downlink (seed 003 Fig. 7).

For each curve (one combination of the experiment's ``sweep`` values and one
MCS) and each Eb/N0 point, batches of slots are simulated until
``target_block_errors`` block errors or ``max_blocks`` blocks. A block is one
user's LDPC codeword in one slot. The sweep engine
(:mod:`linksim.experiments.engine`) runs :class:`BLERSweep`: each finished
point is appended to the CSV immediately, with its own derived seed, so
results are reproducible point by point and an interrupted sweep resumes
where it stopped.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import sionna
import tensorflow as tf

from linksim.config import MCS, BLERExperiment, Scenario, expand_sweep, sweep_label, with_overrides
from linksim.experiments.engine import Executor, Point, SweepKind, run_sweep
from linksim.experiments.provenance import provenance, stable_hash
from linksim.experiments.results import ResultTable  # noqa: F401  (tests read tables through here)
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


class BLERSweep(SweepKind):
    """The BLER experiment as a :class:`~linksim.experiments.engine.SweepKind`.

    Points: every curve (:func:`curves`) at every Eb/N0, each with its own
    seed ``derived_seed(scenario.seed, curve_hash, ebno_db)``; a curve stops
    after its first point with no block error or BLER < ``min_bler``.
    """

    columns = COLUMNS
    x_key = "ebno_db"

    def __init__(self, scenario: Scenario, exp: BLERExperiment):
        self.scenario, self.exp, self.name = scenario, exp, exp.name
        self.curves = curves(scenario, exp)
        self.hashes = [curve_hash(c, exp) for c in self.curves]
        self._counter: tuple[int, ErrorCounter] | None = None  # the current curve's (as before)

    def points(self) -> list[Point]:
        return [Point(i, ebno, h, f"{c.label} @ {ebno:g} dB", c, c.scenario.seed)
                for i, (c, h) in enumerate(zip(self.curves, self.hashes))
                for ebno in self.exp.ebno_values()]

    def meta(self) -> dict[str, Any]:
        return {
            "experiment": self.exp.model_dump(mode="json"),
            "scenario": self.scenario.model_dump(mode="json", exclude={"experiments"}),
            "curves": [{"label": c.label, "overrides": c.overrides, "mcs": c.mcs.model_dump(),
                        "config_hash": h} for c, h in zip(self.curves, self.hashes)],
            "provenance": provenance(),
            "notes": "Eb/N0 per information bit of one user's stream (each stream carries P/K per RE, "
                     "P from precoder.power; pilot and CP overhead counted). "
                     "A block is one user's LDPC codeword in one slot.",
        }

    def run_point(self, point: Point, bar=None) -> dict[str, Any]:
        if self._counter is None or self._counter[0] != point.curve:
            curve = point.spec
            self._counter = None  # free the previous curve's link first
            self._counter = (point.curve, ErrorCounter(curve.scenario, curve.mcs, self.exp.batch_size))
        return _simulate_point(self._counter[1], point.spec, self.exp, point.x, point.config_hash,
                               bar, point.seed)

    def stop_curve(self, row: dict[str, Any]) -> bool:
        return int(row["block_errors"]) == 0 or float(row["bler"]) < self.exp.min_bler


def run_bler(scenario: Scenario, exp: BLERExperiment, out_dir: Path,
             progress: Callable[..., Any] | None = None, executor: Executor | None = None) -> Path:
    """Run (or resume) ``exp``; returns the CSV path. ``progress`` is a tqdm-like factory,
    ``executor`` where the points run (:func:`~linksim.experiments.engine.run_sweep`)."""
    return run_sweep(BLERSweep(scenario, exp), out_dir, progress, executor).path


def _simulate_point(counter: ErrorCounter, curve: Curve, exp: BLERExperiment, ebno: float,
                    config_hash: str, bar, seed: int) -> dict[str, Any]:
    """One Eb/N0 point of ``curve``; ``seed`` is the point's (:attr:`Point.seed`)."""
    import time

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
