"""Sweep points as Ray tasks: :class:`RayExecutor`, the engine's executor for a cluster.

Ray (PyPI ``ray``, the optional extra ``pip install -e ".[ray]"``) is the
scheduler; linksim only maps the engine's points onto it. The sweep loop
stays :func:`linksim.experiments.engine.run_sweep`: it plans, skips the
points on disk and appends each row the moment the executor yields it, so
resume, stale rows and the JSON work as in one process.

How points are mapped:

- **one actor per worker slot** (``workers``, default: the cluster's CPUs),
  each holding the experiment's kind (shipped once with ``ray.put``, without
  its caches, :class:`~linksim.experiments.engine.SweepKind`); the kind's
  caches (compiled links, encoded payloads, loaded models) then live in the
  actor across points, so each configuration is built once per actor;
- **a curve at a time per actor**: a free actor gets the next point of the
  curve it ran last, else the first point of a curve no other actor is
  running (the engine's lazy points are read ahead for it and re-checked
  with :meth:`~linksim.experiments.engine.Pending.still_wanted`, so early
  stop stays exact); only when every remaining curve is running does an
  idle actor take a running curve's next point (then a stop may let a few
  valid points past it run);
- **retries**: a point whose task raised, or whose actor died (a lost node),
  is retried up to ``max_retries`` times, a dead actor is replaced; after
  that the point is reported by name and the others go on
  (:class:`~linksim.experiments.engine.PointsFailed` at the end);
- **interrupt**: Ctrl-C kills the actors (the points in flight are lost);
  every row yielded before is on disk.

A point's seed is :attr:`~linksim.experiments.engine.Point.seed` (or the
kind's per-batch realisation seeds), a function of the point alone, so a
point computed on a worker is the row computed locally, bit for bit.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any, Iterator

from linksim.experiments.engine import Pending, Point, PointsFailed, RunPoint

INSTALL_HINT = 'pip install -e ".[ray]"'
#: environment variables the workers get from the driver (data path, TensorFlow settings)
FORWARDED_ENV = ("LINKSIM_", "TF_")


class RayMissing(ImportError):
    """Ray is not installed (the CLI prints one line and exits 2)."""


class ClusterLost(RuntimeError):
    """No Ray worker is left to run the remaining points (finished points are saved)."""


LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Ray's own switch (read when ``ray`` is imported): "0" keeps a local instance's every
service on 127.0.0.1 instead of the machine's network address."""


def import_ray(local: bool = False):
    """``ray``, or :class:`RayMissing` with the install command.

    ``local``: the caller will start a local instance, so Ray is told (before
    its first import) to keep it on the loopback interface; a user's own
    setting of :data:`LOCAL_ONLY_ENV` wins.
    """
    if local:
        os.environ.setdefault(LOCAL_ONLY_ENV, "0")
    try:
        import ray
    except ImportError as err:
        raise RayMissing(f"--ray needs Ray: {INSTALL_HINT}") from err
    return ray


def start_local(num_cpus: int | None = None) -> None:
    """Start a local Ray instance on 127.0.0.1 with ``num_cpus`` CPUs (default: the machine's)."""
    import_ray(local=True).init(address="local", num_cpus=num_cpus or os.cpu_count(),
                      _node_ip_address="127.0.0.1", log_to_driver=False, include_dashboard=False,
                      logging_level=logging.WARNING)


def _one_line(err: BaseException) -> str:
    cause = getattr(err, "cause", None) or err
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[-1] if text else ''}".strip()


class _PointWorker:
    """A Ray actor: runs points with the kind it received last, keeping its caches."""

    def __init__(self):
        from linksim.cli import quiet_libraries

        quiet_libraries()
        import linksim.plugins

        linksim.plugins.load_all()
        self._key, self._run = None, None

    def ready(self) -> bool:
        return True

    def call(self, holder: list, point: Point) -> dict[str, Any]:
        ref = holder[0]  # inside a list: Ray passes the reference, not a fresh copy each call
        if self._key != ref.hex():
            import ray

            self._run = None  # free the previous experiment's caches first
            self._run, self._key = ray.get(ref), ref.hex()
        return self._run(point)


class RayExecutor:
    """Runs the engine's points on a Ray cluster (:func:`~linksim.experiments.engine.run_sweep`'s ``executor``).

    Parameters
    ----------
    address : str or None
        A running cluster to join (``"auto"``, ``"10.0.0.1:6379"``,
        ``"ray://..."``); None starts a local Ray instance with ``num_cpus``
        CPUs on 127.0.0.1. If Ray is already initialised in this process, it
        is used as it is.
    workers : int or None
        Actors (points in flight); default: the cluster's CPUs.
    max_retries : int
        Retries of a point whose task failed or whose worker was lost.
    num_cpus : int or None
        CPUs of a local instance (default: the machine's).
    start_timeout : float
        Seconds to wait for a replacement worker when none is left, before
        :class:`ClusterLost`.

    Input (``map``)
    ---------------
    run : RunPoint
        The kind's ``run_point``, pickled once to every actor.
    points : Pending
        The points still to run (lazy, in run order).

    Output (``map``)
    ----------------
    (point, row) : (Point, dict)
        In completion order; then :class:`~linksim.experiments.engine.PointsFailed`
        if some points failed after their retries.
    """

    def __init__(self, address: str | None = None, workers: int | None = None,
                 max_retries: int = 2, num_cpus: int | None = None, start_timeout: float = 120.0):
        ray = self._ray = import_ray(local=address is None)
        self.max_retries, self.start_timeout = max_retries, start_timeout
        self._started = not ray.is_initialized()
        if self._started and address is None:
            start_local(num_cpus)
        elif self._started:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        self.address = ray.get_runtime_context().gcs_address  # the cluster actually joined
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV)}
        if address is None and "PYTHONPATH" in os.environ:
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        self._actor_class = ray.remote(num_cpus=1, max_restarts=0)(_PointWorker).options(
            runtime_env={"env_vars": env})
        self._actors: list[Any] = [None] * self.workers
        self._starting: dict[Any, int] = {}      # ready() ref -> slot
        self._idle: set[int] = set()
        self._last: list[int | None] = [None] * self.workers
        self._cluster: dict[str, Any] | None = None

    # -- actors ---------------------------------------------------------------------------------
    def _start(self, slot: int) -> None:
        actor = self._actor_class.remote()
        self._actors[slot], self._last[slot] = actor, None
        self._idle.discard(slot)
        self._starting[actor.ready.remote()] = slot

    def _kill(self, slot: int) -> None:
        if self._actors[slot] is not None:
            self._ray.kill(self._actors[slot], no_restart=True)
        self._actors[slot] = None
        self._idle.discard(slot)
        self._starting = {r: s for r, s in self._starting.items() if s != slot}

    def start(self) -> float:
        """Start every actor now and wait until all are ready (TensorFlow imported); returns seconds.

        ``map`` starts missing actors itself; this is for timing the points
        without the workers' start-up (``linksim bench``).
        """
        t = time.perf_counter()
        for slot in range(self.workers):
            if self._actors[slot] is None:
                self._start(slot)
        for ref, slot in list(self._starting.items()):
            self._ray.get(ref)
            del self._starting[ref]
            self._idle.add(slot)
        return time.perf_counter() - t

    def close(self) -> None:
        """Kill the actors; shut Ray down if this executor started it."""
        for slot in range(self.workers):
            self._kill(slot)
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        """The cluster the last ``map`` ran on: nodes, CPUs, GPUs, workers, Ray version."""
        if self._cluster is None:
            ray = self._ray
            res = ray.cluster_resources()
            self._cluster = {
                "executor": "ray", "address": self.address, "ray": ray.__version__,
                "nodes": sum(1 for n in ray.nodes() if n.get("Alive")),
                "cpus": res.get("CPU", 0.0), "gpus": res.get("GPU", 0.0), "workers": self.workers}
        return self._cluster

    # -- the engine's map -----------------------------------------------------------------------
    def map(self, run: RunPoint, points: Pending) -> Iterator[tuple[Point, dict[str, Any]]]:
        ray = self._ray
        self._cluster = None
        self.describe()
        still_wanted = getattr(points, "still_wanted", lambda point: True)
        source = iter(points)
        holder = [ray.put(run)]
        buffer: list[Point] = []                  # pulled, not started (read ahead, retries first)
        inflight: dict[Any, tuple[int, Point]] = {}
        tries: dict[tuple[str, float], int] = {}
        failures: list[tuple[Point, str]] = []
        exhausted = False

        def pick(slot: int) -> Point | None:
            nonlocal exhausted
            while True:
                busy = {q.curve for _, q in inflight.values()}
                free = [i for i, q in enumerate(buffer) if q.curve not in busy]
                own = [i for i in free if buffer[i].curve == self._last[slot]]
                i = (own or free or [None])[0]
                if i is None and not exhausted:
                    for q in source:
                        buffer.append(q)
                        if q.curve not in busy:
                            i = len(buffer) - 1
                            break
                    else:
                        exhausted = True
                if i is None and buffer:
                    i = 0  # every remaining curve is running: share the first one
                if i is None:
                    return None
                point = buffer.pop(i)
                if still_wanted(point):
                    return point

        def failed(point: Point, err: BaseException) -> None:
            tries[point.key] = tries.get(point.key, 0) + 1
            if tries[point.key] <= self.max_retries:
                buffer.insert(0, point)
            else:
                failures.append((point, _one_line(err)))

        for slot in range(self.workers):
            if self._actors[slot] is None:
                self._start(slot)
        ok = False
        try:
            while True:
                for slot in sorted(self._idle):
                    point = pick(slot)
                    if point is None:
                        break
                    self._idle.discard(slot)
                    self._last[slot] = point.curve
                    inflight[self._actors[slot].call.remote(holder, point)] = (slot, point)
                if not inflight and not buffer and exhausted:
                    break
                waiting = list(inflight) + list(self._starting)
                if not waiting:
                    raise ClusterLost("no Ray worker left; finished points are saved, "
                                      "run the same command to resume")
                done, _ = ray.wait(waiting, num_returns=1,
                                   timeout=None if inflight else self.start_timeout)
                if not done:
                    raise ClusterLost(f"no Ray worker became available in {self.start_timeout:g} s; "
                                      "finished points are saved, run the same command to resume")
                ref = done[0]
                if ref in self._starting:
                    slot = self._starting.pop(ref)
                    try:
                        ray.get(ref)
                        self._idle.add(slot)
                    except ray.exceptions.RayError as err:
                        self._actors[slot] = None
                        if not self._starting and not inflight and not self._idle:
                            raise ClusterLost(f"no Ray worker could start: {_one_line(err)}") from err
                    continue
                slot, point = inflight.pop(ref)
                try:
                    row = ray.get(ref)
                except ray.exceptions.RayTaskError as err:   # the point raised: the actor is fine
                    self._idle.add(slot)
                    failed(point, err)
                    continue
                except ray.exceptions.RayError as err:       # the actor or its node is gone
                    self._kill(slot)
                    self._start(slot)
                    failed(point, err)
                    continue
                self._idle.add(slot)
                yield point, row
            ok = True
        finally:
            if not ok:  # interrupted or failed: points in flight are abandoned
                for slot in range(self.workers):
                    self._kill(slot)
        if failures:
            raise PointsFailed(failures)
