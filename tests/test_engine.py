"""The sweep engine: skip-finished, interruption, points alone, stale rows, per-curve early stop."""
from __future__ import annotations

import json
import random

import pytest

from linksim.experiments.engine import LocalExecutor, Point, SweepKind, plan, run_sweep
from linksim.experiments.results import ResultTable, _fmt
from linksim.seeding import derived_seed, stable_hash

XS = [0.0, 1.0, 2.0, 3.0]


class Fake(SweepKind):
    """Three curves of four points; a row is a draw from the point's own seed."""

    name = "fake"
    columns = ("curve", "x", "value", "stop", "wall_s", "seed", "config_hash")
    x_key = "x"

    def __init__(self, seed=1, gain=1.0, stop_at=None, fail_on=None):
        self.seed, self.gain, self.stop_at, self.fail_on = seed, gain, stop_at or {}, fail_on
        self.calls: list[tuple[int, float]] = []

    def points(self):
        return [Point(c, x, stable_hash({"curve": c, "gain": self.gain}), f"c{c} @ {x:g}", None, self.seed)
                for c in range(3) for x in XS]

    def meta(self):
        return {"experiment": "fake", "gain": self.gain}

    def run_point(self, point, bar=None):
        if self.fail_on is not None and len(self.calls) + 1 == self.fail_on:
            raise KeyboardInterrupt
        self.calls.append((point.curve, point.x))
        value = self.gain * random.Random(point.seed).random()
        return {"curve": point.curve, "x": point.x, "value": value,
                "stop": int(point.x >= self.stop_at.get(point.curve, 99)), "wall_s": 0.5,
                "seed": point.seed, "config_hash": point.config_hash}

    def stop_curve(self, row):
        return int(row["stop"]) == 1


class Bar:
    def __init__(self, total, desc, unit):
        self.total, self.n, self.closed, self.postfix = total, 0, False, []

    def update(self, n):
        self.n += n

    def set_postfix_str(self, s):
        self.postfix.append(s)

    def close(self):
        self.closed = True


def _bar_factory(bars):
    def make(**kw):
        bars.append(Bar(**kw))
        return bars[-1]
    return make


def _rows(path):
    return ResultTable(path, Fake.columns).rows()


def test_second_run_executes_nothing_and_reports_it(tmp_path, capsys):
    kind = Fake()
    first = run_sweep(kind, tmp_path)
    assert (first.points_total, first.points_skipped, first.points_run) == (12, 0, 12)
    assert "resumed" not in capsys.readouterr().err
    again, bars = Fake(), []
    second = run_sweep(again, tmp_path, _bar_factory(bars))
    assert again.calls == [] and (second.points_skipped, second.points_run) == (12, 0)
    assert "fake: resumed: 12 of 12 points already on disk" in capsys.readouterr().err
    assert bars[0].n == bars[0].total == 12 and bars[0].closed
    meta = json.loads((tmp_path / "fake.json").read_text())
    assert meta["gain"] == 1.0 and meta["points_skipped"] == 12 and meta["points_run"] == 0
    assert meta["wall_s_this_run"] == 0 and meta["wall_s_all_points"] == 6.0 and meta["complete"]
    assert len(_rows(first.path)) == 12


def test_interrupted_run_keeps_finished_rows_and_resumes_without_duplicates(tmp_path):
    reference = _rows(run_sweep(Fake(), tmp_path / "full").path)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(Fake(fail_on=3), tmp_path / "cut")
    assert len(_rows(tmp_path / "cut" / "fake.csv")) == 2
    meta = json.loads((tmp_path / "cut" / "fake.json").read_text())
    assert meta["points_run"] == 2 and not meta["complete"]      # the JSON says so too
    kind = Fake()
    result = run_sweep(kind, tmp_path / "cut")
    assert (result.points_skipped, result.points_run) == (2, 10) and len(kind.calls) == 10
    assert _rows(result.path) == reference                       # same rows, once each, same order


def test_a_point_alone_equals_the_point_inside_the_sweep(tmp_path):
    swept = {(int(r["curve"]), float(r["x"])): r for r in _rows(run_sweep(Fake(), tmp_path).path)}
    point = Fake().points()[6]                                   # curve 1, x = 2, nothing before it
    alone = Fake().run_point(point)
    assert alone["seed"] == point.seed == derived_seed(1, point.config_hash, 2.0)
    assert {k: str(_fmt(v)) for k, v in alone.items()} == swept[(1, 2.0)]


def test_changed_config_moves_old_rows_to_stale(tmp_path):
    old = _rows(run_sweep(Fake(), tmp_path).path)
    kind = Fake(gain=2.0)
    result = run_sweep(kind, tmp_path)
    assert result.points_skipped == 0 and len(kind.calls) == 12
    assert ResultTable(tmp_path / "fake.stale.csv", Fake.columns).rows() == old
    new = _rows(result.path)
    assert len(new) == 12 and not {r["config_hash"] for r in new} & {r["config_hash"] for r in old}


def test_early_stop_is_per_curve_and_holds_on_resume(tmp_path):
    bars = []
    kind = Fake(stop_at={1: 1.0})
    result = run_sweep(kind, tmp_path, _bar_factory(bars))
    assert (1, 2.0) not in kind.calls and (1, 3.0) not in kind.calls   # curve 1 stopped at x = 1
    assert (0, 3.0) in kind.calls and (2, 3.0) in kind.calls           # the others did not
    assert (result.points_run, result.points_stopped) == (10, 2)
    assert bars[0].n == 12                                             # the bar jumps the stopped points
    again = Fake(stop_at={1: 1.0})
    resumed = run_sweep(again, tmp_path)                               # the stop row is read from disk
    assert again.calls == [] and (resumed.points_skipped, resumed.points_stopped) == (10, 2)
    assert json.loads((tmp_path / "fake.json").read_text())["complete"]


def test_plan_and_a_pluggable_executor(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run_sweep(Fake(fail_on=5), tmp_path)
    p = plan(Fake(), tmp_path)
    assert p.num_done == 4 and [q.key for q in p.missing] == [q.key for q in p.points[4:]]

    class Reversed:  # takes every point first (as a pool would), finishes them in another order
        def map(self, run, points):
            for point in reversed(list(points)):
                yield point, run(point)

    kind = Fake()
    result = run_sweep(kind, tmp_path, executor=Reversed())
    assert result.points_run == 8 and kind.calls[0] == (2, 3.0)
    by_key = {(r["curve"], r["x"]): r for r in _rows(result.path)}
    assert len(by_key) == 12
    reference = _rows(run_sweep(Fake(), tmp_path / "ref", executor=LocalExecutor()).path)
    assert sorted(by_key.values(), key=lambda r: (r["curve"], float(r["x"]))) == reference


BLER = """\
name: tiny
seed: 5
channel: {model: awgn}
runtime: {mode: eager}
experiments:
  - kind: bler
    name: tiny
    mcs: [{qam: 4, rate: 1/2}]
    ebno_db: [1.0, 3.0, 4.0]
    batch_size: 4
    target_block_errors: 8
    max_blocks: 32
    min_bler: 0.0
"""


def test_a_bler_point_alone_equals_the_point_inside_the_sweep(tmp_path):
    from linksim.config import load_scenario
    from linksim.experiments.bler import COLUMNS, BLERSweep

    path = tmp_path / "tiny.yaml"
    path.write_text(BLER)
    sc = load_scenario(path)
    swept = ResultTable(run_sweep(BLERSweep(sc, sc.experiments[0]), tmp_path / "full").path,
                        COLUMNS).rows()
    kind = BLERSweep(sc, sc.experiments[0])
    point = kind.points()[2]                                     # the last Eb/N0, run first
    alone = {k: str(_fmt(v)) for k, v in kind.run_point(point).items()}
    assert alone["seed"] == str(point.seed) == str(derived_seed(5, point.config_hash, 4.0))
    assert ({k: v for k, v in alone.items() if k != "wall_s"}
            == {k: v for k, v in swept[2].items() if k != "wall_s"})


def test_a_second_process_on_the_same_output_stops_with_one_line(tmp_path):
    """Two runs on one --out would append the same points twice: the second one is refused."""
    import fcntl

    from linksim.config import ConfigError
    with open(tmp_path / ".fake.lock", "w") as held:          # another process holds the sweep
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ConfigError, match="another linksim run is writing this sweep"):
            run_sweep(Fake(), tmp_path)
        assert not (tmp_path / "fake.csv").exists()
    assert len(_rows(run_sweep(Fake(), tmp_path).path)) > 0  # released: runs
