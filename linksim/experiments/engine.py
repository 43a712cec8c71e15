"""The one resumable sweep engine behind every ``run`` experiment (BLER, SSCC, semantic).

An experiment *kind* (:class:`SweepKind`) says what its points are and how
one is computed; the engine does everything else, in three separate steps:

- **planning** (:func:`plan`): the kind's points in run order, rows of other
  configurations moved to ``<name>.stale.csv``
  (:meth:`~linksim.experiments.results.ResultTable.keep_only`), and which
  points are already on disk (matched by ``(config_hash, x)``);
- **execution**: an :class:`Executor` maps ``kind.run_point`` over the missing
  points and yields rows as they finish (:class:`LocalExecutor`: one process,
  in order; a Ray or multi-process executor is another implementation of
  the same ``map``, not a second sweep loop);
- **recording**: each row is appended (flushed, fsynced) the moment it
  arrives, so an interrupted sweep keeps every finished point, and the JSON
  written before the run is updated after it with the wall time of this run
  and of all points and how many points were skipped, run and stopped.

A point is computed from its descriptor (:class:`Point`) and the kind's
configuration alone, never from loop state: its seed (:attr:`Point.seed`) is
derived from the scenario seed and the point's identity, and whatever a kind
caches (compiled links, encoded payloads, loaded models) is a pure function
of its key. So a point computed alone, after an interruption or on another
worker is the same row as inside a full sweep.

Early stop is per curve: after each row (from disk or new) ``kind.stop_curve``
may end its curve, and the curve's remaining points are neither run nor
recorded. The executor pulls points lazily from an iterator that drops the
points of stopped curves, so with :class:`LocalExecutor` the stop is exact; an
executor that runs ahead (several points in flight) may compute a few points
past a stop, which are valid rows and are recorded; one that runs each curve
in order on one worker keeps the stop exact.
"""
from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence

from linksim.experiments.results import ResultTable, write_json
from linksim.seeding import derived_seed


@dataclass(frozen=True)
class Point:
    """One point of a sweep: a curve (one configuration) at one x-coordinate.

    Parameters
    ----------
    curve : int
        Index of the point's curve in the kind's run order; early stop and
        progress group points by it.
    x : float
        The coordinate (Eb/N0 or SNR [dB]), stored in the kind's ``x_key`` column.
    config_hash : str
        Identifies everything that changes the curve's numbers; with ``x`` it
        is the point's identity on disk.
    label : str
        Progress-bar postfix while the point runs.
    spec : Any
        What the kind needs to compute the point (its curve object); not part
        of the identity.
    base_seed : int or None
        The scenario seed the point's own seed derives from, or None for a
        kind that seeds otherwise (e.g. per batch, shared across schemes).
    """

    curve: int
    x: float
    config_hash: str
    label: str = ""
    spec: Any = field(default=None, compare=False, repr=False)
    base_seed: int | None = None

    @property
    def key(self) -> tuple[str, float]:
        """``(config_hash, x)``: how a row on disk is matched to its point."""
        return self.config_hash, float(self.x)

    @property
    def seed(self) -> int | None:
        """``derived_seed(base_seed, config_hash, x)``: the point's own random stream (None: unseeded)."""
        if self.base_seed is None:
            return None
        return derived_seed(self.base_seed, self.config_hash, self.x)


class SweepKind(ABC):
    """What an experiment kind supplies to :func:`run_sweep`.

    Attributes
    ----------
    name : str
        Stem of the result files: ``<name>.csv``, ``<name>.json``.
    columns : sequence of str
        CSV header; every row has exactly these keys (``wall_s`` and
        ``config_hash`` among them).
    x_key : str
        The column holding :attr:`Point.x` (e.g. ``"ebno_db"``, ``"snr_db"``).

    A kind builds what it caches (compiled transceivers, encoded payloads,
    models) lazily inside :meth:`run_point`, keyed by what determines it, so
    that any point can run first.
    """

    name: str
    columns: Sequence[str]
    x_key: str

    @abstractmethod
    def points(self) -> list[Point]:
        """Every point of the experiment, in run order (curve by curve, x ascending within one)."""

    @abstractmethod
    def meta(self) -> dict[str, Any]:
        """The JSON header (configuration, curves with their hashes, provenance, notes)."""

    @abstractmethod
    def run_point(self, point: Point, bar: Any = None) -> dict[str, Any]:
        """Compute one point: its CSV row (keys ``columns``).

        ``bar`` is the progress bar (anything with ``set_postfix_str``) or None;
        a kind may report its progress inside the point there.
        """

    def stop_curve(self, row: dict[str, Any]) -> bool:
        """True ends the row's curve: its later points are skipped.

        ``row`` is a new row or one read back from the CSV (string values).
        Default: never.
        """
        return False


class Executor(Protocol):
    """Runs points; :func:`run_sweep` records what it yields."""

    def map(self, run: Callable[[Point], dict[str, Any]],
            points: Iterable[Point]) -> Iterator[tuple[Point, dict[str, Any]]]:
        """Yield ``(point, run(point))`` for every point, in any order, as each finishes.

        ``points`` is lazy: pull a point only when it can start (it drops the
        points of curves stopped by the rows yielded so far). An exception
        (or KeyboardInterrupt) from ``run`` propagates after the rows already
        yielded; the engine has recorded those.
        """


class LocalExecutor:
    """This process, one point after another, in run order."""

    def map(self, run, points):
        for point in points:
            yield point, run(point)


@dataclass
class Plan:
    """What :func:`plan` found: every point, the rows already on disk, the table."""

    table: ResultTable
    points: list[Point]
    done: dict[tuple[str, float], dict[str, str]]

    @property
    def missing(self) -> list[Point]:
        """Points not on disk, in run order (before early stop)."""
        return [p for p in self.points if p.key not in self.done]

    @property
    def num_done(self) -> int:
        return sum(p.key in self.done for p in self.points)


@dataclass
class SweepResult:
    """What one :func:`run_sweep` call did."""

    path: Path
    points_total: int
    points_skipped: int  # already on disk
    points_run: int
    points_stopped: int  # skipped by a curve's early stop
    wall_s_this_run: float

    @property
    def resumed(self) -> str:
        return f"resumed: {self.points_skipped} of {self.points_total} points already on disk"


def plan(kind: SweepKind, out_dir: Path) -> Plan:
    """Planning: the kind's points, stale rows moved aside, the rows already done."""
    table = ResultTable(Path(out_dir) / f"{kind.name}.csv", kind.columns)
    points = kind.points()
    rows = table.keep_only(p.config_hash for p in points)
    done = {(r["config_hash"], float(r[kind.x_key])): r for r in rows}
    return Plan(table, points, done)


def run_sweep(kind: SweepKind, out_dir: Path, progress: Callable[..., Any] | None = None,
              executor: Executor | None = None) -> SweepResult:
    """Run (or resume) every missing point of ``kind`` into ``out_dir``.

    Parameters
    ----------
    kind : SweepKind
    out_dir : Path
        Gets ``<name>.csv`` (one row per finished point) and ``<name>.json``.
    progress : callable or None
        tqdm-like factory ``progress(total=, desc=, unit=)``.
    executor : Executor or None
        Default :class:`LocalExecutor`.

    Returns
    -------
    SweepResult
        Its ``resumed`` line is also printed on stderr when points were skipped,
        and the counts are in the JSON (``points_skipped``, ``points_run``, ...).
    """
    out_dir = Path(out_dir)
    meta_path = out_dir / f"{kind.name}.json"
    meta = kind.meta()
    write_json(meta_path, meta)
    p = plan(kind, out_dir)
    executor = executor or LocalExecutor()
    result = SweepResult(p.table.path, len(p.points), p.num_done, 0, 0, 0.0)
    if result.points_skipped:
        print(f"{kind.name}: {result.resumed}", file=sys.stderr)
    bar = progress(total=len(p.points), desc=kind.name, unit="pt") if progress else None
    stopped: set[int] = set()

    def wanted() -> Iterator[Point]:  # pulled lazily by the executor
        for point in p.points:
            if point.key in p.done:
                if point.curve not in stopped and kind.stop_curve(p.done[point.key]):
                    stopped.add(point.curve)
            elif point.curve in stopped:
                result.points_stopped += 1
            else:
                if bar:
                    bar.set_postfix_str(point.label)
                yield point
                continue
            if bar:
                bar.update(1)

    def run(point: Point) -> dict[str, Any]:
        return kind.run_point(point, bar)

    try:
        for point, row in executor.map(run, wanted()):
            p.table.append(row)
            p.done[point.key] = row
            result.points_run += 1
            result.wall_s_this_run += float(row["wall_s"])
            if kind.stop_curve(row):
                stopped.add(point.curve)
            if bar:
                bar.update(1)
    finally:
        if bar:
            bar.close()
        hashes = {q.config_hash for q in p.points}
        meta.update({
            "wall_s_this_run": round(result.wall_s_this_run, 1),
            "wall_s_all_points": round(sum(float(r["wall_s"]) for r in p.table.rows()
                                           if r["config_hash"] in hashes), 1),
            "points_total": result.points_total, "points_skipped": result.points_skipped,
            "points_run": result.points_run, "points_stopped": result.points_stopped,
            "complete": result.points_skipped + result.points_run + result.points_stopped
            == result.points_total,
        })
        write_json(meta_path, meta)
    return result
