"""Trained weights on disk: where they are, what their ``state.json`` says, and its versions.

A trained model is a folder with ``best.weights.h5`` (or ``last.weights.h5``)
and the ``state.json`` that ``python -m linksim train`` writes (epochs, wall
time, the ``semantic`` settings it was built with, data, provenance). Both
the generic trainer (warm starts) and the generic evaluation read it through
:func:`find_weights`, and every ``state.json`` passes :func:`migrate_state`
first, the one place that knows how older files differ.

State versions
--------------
- 1 (no ``version`` key): written before the systems layer. No ``system``
  (it was seed 003's); a missing ``semantic.ce_weight`` means the run used
  the then default 0.01; ``decoder_snr``, ``decoder_conv`` and ``ue_gain``
  may be present (options since removed: they measured neutral or negative);
  ``trained_on.runtime.precision`` may be present (a key that was never read).
- 2: ``version: 2``, ``system`` and ``semantic.system`` set, removed options gone.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from linksim.config import ConfigError, Scenario

STATE_VERSION = 2

#: Options that no longer exist, with the value every run that did not use them had.
REMOVED_OPTIONS = {"decoder_snr": False, "decoder_conv": False, "ue_gain": "agc"}


def migrate_state(state: dict[str, Any], where: str = "state.json") -> dict[str, Any]:
    """``state`` in the current :data:`STATE_VERSION` (a new dict; see the module docstring).

    Raises
    ------
    ConfigError
        The run used an option that was removed (its weights need that code),
        or the file is from a newer linksim.
    """
    state = json.loads(json.dumps(state))
    version = int(state.get("version", 1))
    if version > STATE_VERSION:
        raise ConfigError(f"{where}: state version {version} is newer than this linksim's "
                          f"({STATE_VERSION}); update linksim")
    if version == 1:
        sem = state.setdefault("semantic", {})
        for key, default in REMOVED_OPTIONS.items():
            value = sem.pop(key, default)
            if value != default:
                raise ConfigError(f"{where}: the run used semantic.{key}={value}, an option that "
                                  f"was removed (it measured neutral or negative); evaluate it "
                                  f"with linksim before the systems layer (git log)")
            (state.get("trained_on") or {}).get("semantic", {}).pop(key, None)
        sem.setdefault("ce_weight", 0.01)  # the default of the runs that predate the key
        sem.setdefault("system", "scenario_adaptive")
        state.setdefault("system", sem["system"])
        trained = state.get("trained_on") or {}
        (trained.get("runtime") or {}).pop("precision", None)
        if "semantic" in trained:
            trained["semantic"].setdefault("system", sem["system"])
        state["version"] = STATE_VERSION
    return state


@dataclass(frozen=True)
class TrainedWeights:
    """Where a trained model's weights are and what its training run recorded (migrated)."""

    model: str
    path: Path
    state: dict[str, Any]

    @cached_property
    def digest(self) -> str:
        """sha256 of the weights file (read once: it is tens of MB and keys every point)."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]

    @property
    def semantic(self) -> dict[str, Any]:
        """The ``semantic`` settings the run was built with."""
        return self.state.get("semantic") or {}

    @property
    def summary(self) -> dict[str, Any]:
        s = self.state
        return {"weights": str(self.path), "sha256_16": self.digest, "system": s.get("system"),
                "epochs_trained": s.get("epochs_done"), "best_epoch": s.get("best_epoch"),
                "train_wall_s": s.get("wall_s"), "status": s.get("status"),
                "optimizer_step": s.get("optimizer_step"), "batch_slots": s.get("batch_slots"),
                "data": s.get("data"), "semantic": s.get("semantic"),
                "train_commit": (s.get("provenance") or {}).get("git_commit"),
                # weights rounded on export (scripts/export_weights.py --half), if they were
                **({"exported": s["exported"]} if "exported" in s else {})}


def read_state(path: Path, key: str = "weights") -> dict:
    """A weights folder's ``state.json``, migrated; ConfigError (not a traceback) when unreadable."""
    try:
        state = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{key}: {path} is not a readable state file ({err}); "
                          f"re-export or retrain the model") from None
    if not isinstance(state, dict):
        raise ConfigError(f"{key}: {path} is not a readable state file (not a JSON object); "
                          f"re-export or retrain the model")
    return migrate_state(state, f"{key}: {path}")


def search_roots(scenario: Scenario) -> list[Path]:
    """Where a relative weights pattern is looked up: the working directory, then up from the scenario file.

    The scenario file's folder and each of its parents, so the committed
    ``models/`` beside ``scenarios/`` is found from any working directory.
    """
    roots = [Path.cwd()]
    origin = scenario.origin
    if origin is not None:
        roots += list(origin.resolve().parent.parents)[:4]
        roots.insert(1, origin.resolve().parent)
    return list(dict.fromkeys(roots))


def find_weights(pattern: str, scenario: Scenario, model: str, key: str = "weights",
                 system: str | None = None) -> TrainedWeights:
    """Resolve ``pattern`` for ``model`` (:func:`search_roots`), checked against the scenario.

    ``key`` names the setting or flag the pattern came from in error messages;
    ``system``, when given, must be the system the run trained.

    Raises
    ------
    ConfigError
        No directory with ``state.json`` and weights (the message names the
        places looked at and the command that trains the model), another
        model or system, or another power convention.
    """
    rel = Path(pattern.format(scenario=scenario.name, model=model))
    candidates = [rel] if rel.is_absolute() else list(dict.fromkeys(
        root / rel for root in search_roots(scenario)))
    for folder in candidates:
        state_path = folder / "state.json"
        for name in ("best.weights.h5", "last.weights.h5"):
            if state_path.is_file() and (folder / name).is_file():
                state = read_state(state_path, key)
                if state.get("model") != model:
                    raise ConfigError(f"{key}: {folder} holds a {state.get('model')!r} model, "
                                      f"not {model!r}")
                if system is not None and state.get("system") != system:
                    raise ConfigError(f"{key}: {folder} holds a model of system "
                                      f"{state.get('system')!r}, not {system!r}")
                power = state.get("trained_on", {}).get("precoder", {}).get("power")
                if power not in (None, scenario.precoder.power):
                    raise ConfigError(f"{key}: {folder} was trained with precoder.power={power}, "
                                      f"this scenario uses {scenario.precoder.power} (another SNR "
                                      f"scale); retrain or set precoder.power: {power}")
                return TrainedWeights(model, folder / name, state)
    raise ConfigError(f"{key}: no trained {model!r} model in {' or '.join(map(str, candidates))}; "
                      f"train it with: python -m linksim train <scenario.yaml> --model {model} "
                      f"--out {rel}")


def load_weights_into(model: Any, path: Path, scenario: Scenario, key: str = "weights") -> None:
    """``model.load_weights(path)``, with a one-line ConfigError naming ``key`` when they do not fit."""
    try:
        model.load_weights(path)
    except ValueError as err:  # Keras: shape or layer mismatch
        first = str(err).strip().splitlines()[0]
        raise ConfigError(f"{key}: {path} does not fit this scenario's grid, arrays and model "
                          f"(N_f={scenario.ofdm.fft_size}, {scenario.ue.num_users} users): "
                          f"{first}") from None
    except (OSError, KeyError, TypeError) as err:  # h5py: truncated or not an HDF5 file
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ConfigError(f"{key}: {path} is not a readable Keras weights file "
                          f"({first}); re-export or retrain the model") from None


#: What a warm start compares besides the architecture, read from a scenario (the trainer records them).
GRID_KEYS = {"fft_size": lambda sc: sc.ofdm.fft_size, "num_users": lambda sc: sc.ue.num_users}


class SameArchitectureWarmStart:
    """Warm start from a run of the same architecture (stage to stage, ``--init-from``): nothing grows.

    The generic trainer starts each stage of a system's schedule from the
    previous stage's best weights through ``system.warm_start``; a source
    must have the same weight-shaping settings (``architecture``) and the
    same ``grid`` values (keys of :data:`GRID_KEYS` that ``state.json``
    records) as the new run.
    """

    def __init__(self, system: str, architecture: Any, grid: tuple[str, ...] = ()) -> None:
        self.system, self.architecture, self.grid = system, architecture, tuple(grid)

    def check(self, scenario: Scenario, cfg: Any, source: Path) -> TrainedWeights:
        """The weights to load; ConfigError (one line, ``--init-from``) if they cannot fit ``cfg``'s model."""
        trained = find_weights(str(source), scenario, cfg.model, key="--init-from", system=self.system)
        recorded = self.architecture.of(trained.semantic)
        changed = [k for k in self.architecture.weight_shaping
                   if _as_tuple(recorded[k]) != _as_tuple(getattr(cfg, k))]
        changed += [k for k in self.grid
                    if trained.state.get(k, GRID_KEYS[k](scenario)) != GRID_KEYS[k](scenario)]
        if changed:
            raise ConfigError(f"--init-from: {trained.path.parent} was trained with other "
                              f"{', '.join(changed)}; {self.system} warm-starts only the same "
                              f"architecture")
        return trained

    def load(self, model: Any, warm: TrainedWeights, scenario: Scenario, cfg: Any) -> dict[str, Any]:
        """Load ``warm`` into ``model``; what ``state.json`` records as ``init_from``."""
        load_weights_into(model, warm.path, scenario, key="--init-from")
        return warm.summary


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value

