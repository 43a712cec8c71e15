"""Sweeps on Ray: rows equal the local ones bit for bit, resume, retries, a lost worker, no Ray.

One local Ray cluster on 127.0.0.1 (a head and one worker node, one CPU each)
and one two-actor :class:`RayExecutor` serve the whole module; the lost-worker
test runs last and removes the worker node.
"""
from __future__ import annotations

import builtins
import json
import logging
import os
import random
import sys

import pytest

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # "127.0.0.1" stays loopback
ray = pytest.importorskip("ray")

from conftest import TINY_BLER_YAML  # noqa: E402
from linksim.cli import main  # noqa: E402
from linksim.config import load_scenario  # noqa: E402
from linksim.experiments.bler import COLUMNS, BLERSweep  # noqa: E402
from linksim.experiments.engine import Point, PointsFailed, SweepKind, run_sweep  # noqa: E402
from linksim.experiments.ray_executor import RayExecutor  # noqa: E402
from linksim.experiments.results import ResultTable  # noqa: E402
from linksim.seeding import stable_hash  # noqa: E402

# two curves (4QAM, 16QAM) of three Eb/N0 points: one curve per worker
YAML = TINY_BLER_YAML.replace("mcs: [{qam: 4, rate: 1/2}]", "mcs: [{qam: 4, rate: 1/2}, {qam: 16, rate: 1/2}]")


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "include_dashboard": False, "node_ip_address": "127.0.0.1"})
    worker = c.add_node(num_cpus=1, node_ip_address="127.0.0.1")
    ray.init(address=c.address, log_to_driver=False, logging_level=logging.WARNING)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers lack tests/
    yield c, worker
    ray.shutdown()
    c.shutdown()


@pytest.fixture(scope="module")
def executor(cluster):
    ex = RayExecutor(workers=2, max_retries=2)
    yield ex
    ex.close()


@pytest.fixture(scope="module")
def bler(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenario") / "tiny.yaml"
    path.write_text(YAML)
    sc = load_scenario(path)
    return lambda: BLERSweep(sc, sc.experiments[0])


@pytest.fixture(scope="module")
def local_rows(bler, tmp_path_factory):
    return _rows(run_sweep(bler(), tmp_path_factory.mktemp("local")).path)


def _rows(path):
    return ResultTable(path, COLUMNS).rows()


def _by_point(rows):
    """Rows keyed by point, without the wall-time column; fails on a duplicated point."""
    out = {}
    for r in rows:
        key = (r["config_hash"], float(r["ebno_db"]))
        assert key not in out, f"point {key} twice"
        out[key] = {k: v for k, v in r.items() if k != "wall_s"}
    return out


def test_rows_on_ray_equal_local_rows_bit_for_bit(executor, bler, local_rows, tmp_path):
    result = run_sweep(bler(), tmp_path, executor=executor)
    assert result.points_run == 6
    assert _by_point(_rows(result.path)) == _by_point(local_rows)
    meta = json.loads((tmp_path / "tiny.json").read_text())
    assert meta["executor"] | {"ray": None} == {"executor": "ray", "address": ray.get_runtime_context().gcs_address,
                                                "ray": None, "nodes": 2, "cpus": 2.0, "gpus": 0.0, "workers": 2}
    assert meta["complete"] and meta["points_failed"] == [] and meta["elapsed_s_this_run"] > 0


def test_points_on_disk_are_not_resubmitted(executor, bler, local_rows, tmp_path):
    table = ResultTable(tmp_path / "tiny.csv", COLUMNS)
    for row in local_rows[:4]:
        table.append(row)
    result = run_sweep(bler(), tmp_path, executor=executor)
    assert (result.points_skipped, result.points_run) == (4, 2)
    assert _by_point(_rows(result.path)) == _by_point(local_rows)


class Flaky(SweepKind):
    """Two curves of three points (no TensorFlow); every attempt is logged to a file.

    ``(0, 1.0)`` always raises; ``(1, 2.0)`` raises on its first attempt only.
    """

    name = "flaky"
    columns = ("curve", "x", "value", "wall_s", "config_hash")
    x_key = "x"

    def __init__(self, log):
        self.log = str(log)

    def points(self):
        return [Point(c, x, stable_hash({"curve": c}), f"c{c} @ {x:g}", None, 7)
                for c in range(2) for x in (0.0, 1.0, 2.0)]

    def meta(self):
        return {"experiment": "flaky"}

    def run_point(self, point, bar=None):
        with open(self.log, "a") as f:
            f.write(f"{point.curve} {point.x}\n")
        with open(self.log) as f:
            attempts = f.read().splitlines().count(f"{point.curve} {point.x}")
        if (point.curve, point.x) == (0, 1.0) or ((point.curve, point.x) == (1, 2.0) and attempts == 1):
            raise ValueError(f"broken point {point.label}")
        return {"curve": point.curve, "x": point.x, "value": random.Random(point.seed).random(),
                "wall_s": 0.0, "config_hash": point.config_hash}


def test_a_failing_point_is_retried_then_reported_by_name_and_the_others_finish(executor, tmp_path):
    log = tmp_path / "attempts.log"
    with pytest.raises(PointsFailed) as err:
        run_sweep(Flaky(log), tmp_path, executor=executor)
    assert [(p.curve, p.x) for p, _ in err.value.failures] == [(0, 1.0)]
    assert "c0 @ 1: ValueError: broken point c0 @ 1" in str(err.value)
    attempts = log.read_text().splitlines()
    assert attempts.count("0 1.0") == 3 and attempts.count("1 2.0") == 2  # 1 + max_retries; 1 retry
    rows = ResultTable(tmp_path / "flaky.csv", Flaky.columns).rows()
    assert sorted((int(r["curve"]), float(r["x"])) for r in rows) == [
        (0, 0.0), (0, 2.0), (1, 0.0), (1, 1.0), (1, 2.0)]
    meta = json.loads((tmp_path / "flaky.json").read_text())
    assert meta["points_failed"] == ["c0 @ 1: ValueError: broken point c0 @ 1"] and not meta["complete"]


def test_without_ray_the_cli_exits_2_with_how_to_install(tmp_path, monkeypatch, capsys):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_BLER_YAML)
    assert main(["run", str(path), "--out", str(tmp_path), "--ray-workers", "0", "--ray"]) == 2
    assert capsys.readouterr().err == "error: --ray-workers: 0 -- must be at least 1\n"
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    assert main(["run", str(path), "--out", str(tmp_path), "--ray"]) == 2
    assert capsys.readouterr().err == 'error: --ray needs Ray: pip install -e ".[ray]"\n'
    assert not (tmp_path / "tiny.csv").exists()


class Interrupted(Exception):
    """Stands in for Ctrl-C (pytest reserves KeyboardInterrupt for itself)."""


def test_a_lost_worker_node_then_a_rerun_completes_the_csv_once_per_point(
        cluster, executor, bler, local_rows, tmp_path):
    c, worker = cluster

    class Bar:  # after the first row: the worker node goes; after the second: Ctrl-C
        def __init__(self, **kw):
            self.n = 0

        def update(self, n):
            self.n += n
            if self.n == 1:
                c.remove_node(worker)
            elif self.n == 2:
                raise Interrupted

        def set_postfix_str(self, s):
            pass

        def close(self):
            pass

    with pytest.raises(Interrupted):
        run_sweep(bler(), tmp_path, progress=Bar, executor=executor)
    cut = _rows(tmp_path / "tiny.csv")
    assert 1 <= len(cut) < 6 and all(len(r) == len(COLUMNS) and r["wall_s"] for r in cut)
    result = run_sweep(bler(), tmp_path, executor=executor)        # the head's worker alone
    assert result.points_skipped == len(cut) and result.points_run == 6 - len(cut)
    assert _by_point(_rows(result.path)) == _by_point(local_rows)   # each point once, as locally
    assert json.loads((tmp_path / "tiny.json").read_text())["executor"]["nodes"] == 1
