"""The one resumable sweep engine behind every ``run`` experiment (BLER, SSCC, semantic).

An experiment *kind* (:class:`SweepKind`) says what its points are and how
one is computed; the engine does everything else, in three separate steps:

- **planning** (:func:`plan`): the kind's points in run order, rows of other
  configurations moved to ``<name>.stale.csv``
  (:meth:`~linksim.experiments.results.ResultTable.keep_only`), and which
  points are already on disk (matched by ``(config_hash, x)``);
- **execution**: an :class:`Executor` maps ``kind.run_point`` over the missing
  points and yields rows as they finish (:class:`LocalExecutor`: one process,
  in order; :class:`~linksim.experiments.ray_executor.RayExecutor`: Ray
  actors on a cluster, the same ``map``, not a second sweep loop). The
  callable it maps (:class:`RunPoint`) pickles with the kind's configuration
  and without its caches, so a worker rebuilds those on first use;
- **recording**: each row is appended (flushed, fsynced) the moment it
  arrives, so an interrupted sweep keeps every finished point, and the JSON
  written before the run is updated after it with the wall time of this run
  and of all points, how many points were skipped, run, stopped and failed,
  and where they ran (the executor's :meth:`~Executor.describe`: nodes,
  CPUs, GPUs).

A point is computed from its descriptor (:class:`Point`) and the kind's
configuration alone, never from loop state: its seed (:attr:`Point.seed`) is
derived from the scenario seed and the point's identity, and whatever a kind
caches (compiled links, encoded payloads, loaded models) is a pure function
of its key. So a point computed alone, after an interruption or on another
worker is the same row as inside a full sweep.

Early stop is per curve: after each row (from disk or new) ``kind.stop_curve``
may end its curve, and the curve's remaining points are neither run nor
recorded. The executor pulls points lazily from :class:`Pending`, which drops
the points of stopped curves, so with :class:`LocalExecutor` the stop is
exact; an executor that pulls ahead asks :meth:`Pending.still_wanted` before
it starts a point pulled earlier, so one that runs each curve in order on one
worker keeps the stop exact too; one with several points of a curve in flight
may compute a few points past a stop, which are valid rows and are recorded.
"""
from __future__ import annotations

import os
import sys
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
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
    that any point can run first. Caches are the attributes whose name starts
    with ``_``: a pickled kind (what a Ray worker receives) carries them
    empty (a dict as ``{}``, anything else as None), since compiled
    TensorFlow functions do not pickle and a worker builds its own.
    """

    def __getstate__(self) -> dict[str, Any]:
        return {k: ({} if isinstance(v, dict) else None) if k.startswith("_") else v
                for k, v in self.__dict__.items()}

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


@dataclass
class RunPoint:
    """``kind.run_point(point, bar)`` as a picklable callable: what an executor maps.

    Pickled (to a worker), it carries the kind without its caches
    (:class:`SweepKind`) and no progress bar.
    """

    kind: SweepKind
    bar: Any = None

    def __call__(self, point: Point) -> dict[str, Any]:
        return self.kind.run_point(point, self.bar)

    def __getstate__(self) -> dict[str, Any]:
        return {"kind": self.kind, "bar": None}


class Pending:
    """The points still to run, as :func:`run_sweep` hands them to the executor.

    Iterating pulls them lazily, in run order, dropping the points of curves
    stopped by the rows seen so far (on disk or yielded). An executor that
    pulls ahead of what it starts (to give each worker its own curve) calls
    :meth:`still_wanted` before starting a point pulled earlier.
    """

    def __init__(self, points: Iterable[Point], still_wanted: Callable[[Point], bool]):
        self._points, self._still_wanted = points, still_wanted

    def __iter__(self) -> Iterator[Point]:
        return iter(self._points)

    def still_wanted(self, point: Point) -> bool:
        """False when the point's curve stopped after it was pulled (it is then counted as stopped)."""
        return self._still_wanted(point)


class PointsFailed(RuntimeError):
    """Raised by an executor after every other point: these points failed (after retries).

    Attributes
    ----------
    failures : list of (Point, str)
        Each failed point and the last error, as one line.
    """

    def __init__(self, failures: list[tuple[Point, str]]):
        self.failures = failures
        names = "; ".join(f"{p.label or p.key}: {err}" for p, err in failures)
        super().__init__(f"{len(failures)} point(s) failed: {names}")


class Executor(Protocol):
    """Runs points; :func:`run_sweep` records what it yields."""

    def map(self, run: RunPoint, points: Pending) -> Iterator[tuple[Point, dict[str, Any]]]:
        """Yield ``(point, run(point))`` for every point, in any order, as each finishes.

        ``points`` is lazy: pull a point only when it can start (it drops the
        points of curves stopped by the rows yielded so far), or check
        :meth:`Pending.still_wanted` before starting one pulled earlier. An
        exception (or KeyboardInterrupt) from ``run`` propagates after the
        rows already yielded; the engine has recorded those. An executor that
        goes on past a failed point raises :class:`PointsFailed` at the end.
        """

    def describe(self) -> dict[str, Any]:
        """Where the points run (``executor``, ``nodes``, ``cpus``, ``gpus``, ...), for the JSON."""


class LocalExecutor:
    """This process, one point after another, in run order."""

    def map(self, run, points):
        for point in points:
            yield point, run(point)

    def describe(self) -> dict[str, Any]:
        return {"executor": "local", "nodes": 1, "cpus": os.cpu_count(), "workers": 1}


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
        Default :class:`LocalExecutor`. Its :meth:`~Executor.describe` goes into
        the JSON (``executor``) beside ``wall_s_this_run`` (the points' own
        times, summed) and ``elapsed_s_this_run`` (the clock, which is less
        when points ran in parallel).

    Returns
    -------
    SweepResult
        Its ``resumed`` line is also printed on stderr when points were skipped,
        and the counts are in the JSON (``points_skipped``, ``points_run``, ...).

    Raises
    ------
    PointsFailed
        From the executor, after every other point is recorded; the failed
        points are also listed in the JSON (``points_failed``).
    """
    out_dir = Path(out_dir)
    with output_lock(out_dir, kind.name):
        return _run_sweep(kind, out_dir, progress, executor)


@contextmanager
def output_lock(out_dir: Path, name: str) -> Iterator[None]:
    """Hold ``<out_dir>/.<name>.lock`` (an advisory ``flock``) while one process writes the sweep.

    A second ``linksim run`` on the same output would compute the same missing
    points and append duplicate rows; it stops instead with a one-line
    :class:`~linksim.config.ConfigError`. The lock goes with the process
    (also when it is killed); the empty file stays (``.gitignore``).
    """
    import fcntl

    from linksim.config import ConfigError

    out_dir.mkdir(parents=True, exist_ok=True)
    fh = open(out_dir / f".{name}.lock", "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise ConfigError(f"{out_dir / (name + '.csv')}: another linksim run is writing this "
                          f"sweep; wait for it to end or choose another --out") from None
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def _run_sweep(kind: SweepKind, out_dir: Path, progress: Callable[..., Any] | None,
               executor: Executor | None) -> SweepResult:
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

    def still_wanted(point: Point) -> bool:
        if point.curve not in stopped:
            return True
        result.points_stopped += 1
        if bar:
            bar.update(1)
        return False

    failed: list[str] = []
    start = time.perf_counter()
    try:
        for point, row in executor.map(RunPoint(kind, bar), Pending(wanted(), still_wanted)):
            p.table.append(row)
            p.done[point.key] = row
            result.points_run += 1
            result.wall_s_this_run += float(row["wall_s"])
            if kind.stop_curve(row):
                stopped.add(point.curve)
            if bar:
                bar.update(1)
    except PointsFailed as err:
        failed = [f"{q.label or q.key}: {e}" for q, e in err.failures]
        raise
    finally:
        if bar:
            bar.close()
        hashes = {q.config_hash for q in p.points}
        meta.update({
            "wall_s_this_run": round(result.wall_s_this_run, 1),
            "elapsed_s_this_run": round(time.perf_counter() - start, 1),
            "wall_s_all_points": round(sum(float(r["wall_s"]) for r in p.table.rows()
                                           if r["config_hash"] in hashes), 1),
            "executor": executor.describe() if hasattr(executor, "describe") else None,
            "points_total": result.points_total, "points_skipped": result.points_skipped,
            "points_run": result.points_run, "points_stopped": result.points_stopped,
            "points_failed": failed,
            "complete": result.points_skipped + result.points_run + result.points_stopped
            == result.points_total,
        })
        write_json(meta_path, meta)
    return result
