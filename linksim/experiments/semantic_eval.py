"""Trained semantic models on test images: PSNR / SSIM / MS-SSIM / accuracy vs SNR (seed 003 Figs. 9, 11, 12).

Every (model, sweep point, SNR) is one CSV row, appended as soon as it is
done and skipped on a re-run when its ``config_hash`` (system, images,
weights file contents) is unchanged (:class:`SemanticSweep` on the sweep
engine, :mod:`linksim.experiments.engine`).

Same images and channel realisations as the SSCC baselines
(:mod:`linksim.experiments.slots`): image ``i`` rides in the same batch, slot
and user (:class:`~linksim.experiments.slots.SlotLayout`), and before batch
``b`` at SNR ``s`` the Sionna seed is
:func:`~linksim.experiments.slots.realisation_seed` ``(scenario, s, b)`` and
the scenario's channel block, compiled in the same runtime mode (XLA and
graph draws differ), is the first draw, as in the SSCC link (tested). The
model itself runs as a graph (XLA is slower for its convolutions on CPU), so
its AWGN samples are not the SSCC link's, only their statistics are.
With N0 = 10^(-SNR/10) and the same ``precoder.power`` the SNR axis is the
SSCC experiment's.

A received image is the decoder's output rounded to 8 bits, as a display
would get it; metrics are those of the SSCC experiment
(:mod:`linksim.data.metrics`), so the curves share one axis. Semantic images
are never "lost": the decoder always outputs an image.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import numpy as np
import sionna
import tensorflow as tf

import linksim
from linksim.config import (ConfigError, Scenario, SemanticExperiment, expand_sweep, sweep_label,
                            with_overrides)
from linksim.config.schema import SemanticConfig
from linksim.data import ImageSet
from linksim.data.metrics import ms_ssim, psnr, ssim
from linksim.experiments.engine import Point, SweepKind, run_sweep
from linksim.experiments.provenance import provenance, stable_hash
from linksim.experiments.results import ResultTable, write_json  # noqa: F401  (ResultTable: tests)
from linksim.experiments.slots import (SlotLayout, experiment_meta, load_experiment_images,
                                       realisation_seed)
from linksim.phy.channels import CHANNELS
from linksim.phy.ofdm import resource_grid
from linksim.semantic.system import ARCHITECTURE, SemanticSystem, build_system, outdated_csi

COLUMNS = (
    "experiment", "model", "curve", "sweep", "channel", "fft_size", "snr_db", "no", "num_images",
    "psnr_db", "ssim", "ms_ssim", "accuracy", "epochs_trained", "train_wall_s", "encoder_width",
    "decoder_width", "weights", "batches", "wall_s", "seed", "config_hash",
)


@dataclass(frozen=True)
class TrainedWeights:
    """Where a trained model's weights are and what its training run recorded."""

    model: str
    path: Path
    state: dict[str, Any]

    @cached_property
    def digest(self) -> str:
        """sha256 of the weights file (read once: it is tens of MB and keys every point)."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]

    @property
    def summary(self) -> dict[str, Any]:
        s = self.state
        return {"weights": str(self.path), "sha256_16": self.digest,
                "epochs_trained": s.get("epochs_done"), "best_epoch": s.get("best_epoch"),
                "train_wall_s": s.get("wall_s"), "status": s.get("status"),
                "optimizer_step": s.get("optimizer_step"), "batch_slots": s.get("batch_slots"),
                "data": s.get("data"), "semantic": s.get("semantic"),
                "train_commit": (s.get("provenance") or {}).get("git_commit"),
                # weights rounded on export (scripts/export_weights.py --half), if they were
                **({"exported": s["exported"]} if "exported" in s else {})}


def _read_state(path: Path, key: str = "weights") -> dict:
    """A weights folder's ``state.json``; ConfigError (not a traceback) when it is unreadable."""
    try:
        state = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{key}: {path} is not a readable state file ({err}); "
                          f"re-export or retrain the model") from None
    if not isinstance(state, dict):
        raise ConfigError(f"{key}: {path} is not a readable state file (not a JSON object); "
                          f"re-export or retrain the model")
    return state


def find_weights(pattern: str, scenario: Scenario, model: str, key: str = "weights") -> TrainedWeights:
    """Resolve ``pattern`` for ``model`` (working directory first, then the linksim source tree).

    ``key`` names the setting or flag the pattern came from in error messages.

    Raises
    ------
    ConfigError
        No directory with ``state.json`` and weights: the message names the
        places looked at and the command that trains the model.
    """
    rel = Path(pattern.format(scenario=scenario.name, model=model))
    roots = [Path.cwd(), Path(linksim.__file__).resolve().parent.parent]
    # from the source tree itself, both roots are one: name it once
    candidates = [rel] if rel.is_absolute() else list(dict.fromkeys(root / rel for root in roots))
    for folder in candidates:
        state_path = folder / "state.json"
        for name in ("best.weights.h5", "last.weights.h5"):
            if state_path.is_file() and (folder / name).is_file():
                state = _read_state(state_path, key)
                if state.get("model") != model:
                    raise ConfigError(f"{key}: {folder} holds a {state.get('model')!r} model, "
                                      f"not {model!r}")
                power = state.get("trained_on", {}).get("precoder", {}).get("power")
                if power not in (None, scenario.precoder.power):
                    raise ConfigError(f"{key}: {folder} was trained with precoder.power={power}, "
                                      f"this scenario uses {scenario.precoder.power} (another SNR "
                                      f"scale); retrain or set precoder.power: {power}")
                return TrainedWeights(model, folder / name, state)
    raise ConfigError(f"{key}: no trained {model!r} model in {' or '.join(map(str, candidates))}; "
                      f"train it with: python -m linksim train <scenario.yaml> --model {model} "
                      f"--out {rel}")


def load_weights_into(system: SemanticSystem, path: Path, scenario: Scenario,
                      key: str = "weights") -> None:
    """``system.load_weights(path)``, with a one-line ConfigError naming ``key`` when they do not fit."""
    try:
        system.load_weights(path)
    except ValueError as err:  # Keras: shape or layer mismatch
        first = str(err).strip().splitlines()[0]
        raise ConfigError(f"{key}: {path} does not fit this scenario's grid, arrays and model "
                          f"(N_f={scenario.ofdm.fft_size}, {scenario.ue.num_users} users): "
                          f"{first}") from None
    except (OSError, KeyError, TypeError) as err:  # h5py: truncated or not an HDF5 file
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ConfigError(f"{key}: {path} is not a readable Keras weights file "
                          f"({first}); re-export or retrain the model") from None


def load_system(scenario: Scenario, trained: TrainedWeights) -> SemanticSystem:
    """Build the variant with the widths it was trained with and load its weights."""
    sem = trained.state.get("semantic", {})
    # a key the run's state.json lacks predates the key: the run had its default (lambda: 0.01)
    defaults = {key: SemanticConfig.model_fields[key].default for key in ARCHITECTURE}
    system = build_system(scenario, scenario.semantic.model_copy(update={
        "model": trained.model, **defaults, "ce_weight": 0.01,
        **{key: sem[key] for key in ARCHITECTURE if key in sem}}))
    load_weights_into(system, trained.path, scenario)
    return system


def compiled(fn: Callable, mode: str) -> Callable:
    """``fn`` as the scenario's runtime mode runs it (XLA and graph random draws differ)."""
    return fn if mode == "eager" else tf.function(fn, jit_compile=(mode == "xla"))


def channel_draw(scenario: Scenario) -> Callable:
    """``draw(batch_size) -> h``: the scenario's channel block, compiled in its runtime mode."""
    return compiled(CHANNELS[scenario.channel.model](scenario, resource_grid(scenario)),
                    scenario.runtime.mode)


class SemanticLink:
    """Compiled channel draw + model forward pass on the SSCC experiment's realisations.

    ``draw_channel``: a :func:`channel_draw` of the same scenario to share.

    Input (``run``)
    ---------------
    images : [batch_size, num_users, 32, 32, 3], np.uint8
    snr_db : float
    batch_index : int
        Selects the realisation (:func:`realisation_seed`).

    Output (``run``)
    ----------------
    reconstruction : [batch_size, num_users, 32, 32, 3], np.uint8
    logits : [batch_size, num_users, num_classes], np.float32
    """

    def __init__(self, scenario: Scenario, system: SemanticSystem,
                 draw_channel: Callable | None = None):
        self.scenario, self.system = scenario, system
        # models evaluated on the same scenario share one compiled draw (XLA compiles are slow)
        self.draw_channel = draw_channel or channel_draw(scenario)
        self._forward = compiled(system, "graph" if scenario.runtime.mode == "xla" else
                                 scenario.runtime.mode)

    def run(self, images: np.ndarray, snr_db: float, batch_index: int) -> tuple[np.ndarray, np.ndarray]:
        sionna.phy.config.seed = realisation_seed(self.scenario, snr_db, batch_index)
        h = self.draw_channel(images.shape[0])
        no = tf.fill([images.shape[0]], tf.constant(10.0 ** (-snr_db / 10.0), tf.float32))
        inputs = {"images": tf.constant(images, tf.float32) / 255.0, "h": h, "no": no}
        if self.system.csi_error:  # the BS's outdated CSI: the next draw of the same seed
            inputs["h_bs"] = outdated_csi(h, self.draw_channel(images.shape[0]),
                                          self.system.csi_error)
        out = self._forward(inputs)
        pixels = np.clip(np.round(out["reconstruction"].numpy() * 255.0), 0, 255).astype(np.uint8)
        return pixels, out["logits"].numpy()


def transmit(link: SemanticLink, images: np.ndarray, batch_size: int,
             snr_db: float) -> tuple[np.ndarray, np.ndarray]:
    """Every image through ``link`` at ``snr_db``: reconstructions [N, 32, 32, 3] uint8, predictions [N]."""
    k = link.scenario.ue.num_users
    layout = SlotLayout(len(images), batch_size, k)
    recon = np.zeros_like(images)
    predicted = np.zeros(len(images), np.int64)
    for b in range(layout.num_batches):
        idx = layout.batch(b)                                    # [B, K], -1: empty slot
        slots = np.where((idx >= 0)[..., None, None, None], images[np.maximum(idx, 0)], 0)
        pixels, logits = link.run(slots.astype(np.uint8), snr_db, b)
        used = idx >= 0
        recon[idx[used]] = pixels[used]
        predicted[idx[used]] = logits.argmax(-1)[used]
    return recon, predicted


def point_hash(scenario: Scenario, exp: SemanticExperiment, trained: TrainedWeights,
               data_source: str) -> str:
    """Identifies everything that changes a curve's numbers (not names, not how it is compiled)."""
    system = scenario.model_dump(mode="json", exclude={"name", "description", "experiments",
                                                        "semantic"})
    system["runtime"].pop("mode")
    run = exp.model_dump(mode="json", include={"batch_size", "split", "data_seed"})
    return stable_hash({"system": system, "model": trained.model, "weights": trained.digest,
                        "run": run, "data": data_source})


class SemanticSweep(SweepKind):
    """The semantic evaluation as a :class:`~linksim.experiments.engine.SweepKind`.

    Points: every (sweep point, model) curve at every SNR, on the SSCC
    experiment's realisations (:func:`realisation_seed`, no seed of their
    own). Caches, built on first use: systems per (model, grid and arrays),
    channel draws per sweep point, links per (sweep point, model).
    """

    columns = COLUMNS
    x_key = "snr_db"

    def __init__(self, scenario: Scenario, exp: SemanticExperiment):
        self.scenario, self.exp, self.name = scenario, exp, exp.name
        self.image_set, self.data_notes = load_experiment_images(exp)
        self.trained = {m: find_weights(exp.weights, scenario, m) for m in exp.models}
        self.sweep_points = [(p, with_overrides(scenario, p)) for p in expand_sweep(exp.sweep)]
        self._systems: dict[tuple[str, str], SemanticSystem] = {}
        self._draws: dict[int, Callable] = {}
        self._links: dict[tuple[int, str], SemanticLink] = {}

    def points(self) -> list[Point]:
        out, curve = [], 0
        for i, (overrides, sc) in enumerate(self.sweep_points):
            sweep = sweep_label(overrides)
            for model in self.exp.models:
                h = point_hash(sc, self.exp, self.trained[model], self.image_set.source)
                out.extend(Point(curve, snr, h, f"{model} {sweep} @ {snr:g} dB", (i, model))
                           for snr in self.exp.snr_values())
                curve += 1
        return out

    def meta(self) -> dict[str, Any]:
        return {
            **experiment_meta(self.scenario, self.exp, self.image_set, self.data_notes),
            "models": {m: t.summary for m, t in self.trained.items()},
            "provenance": provenance(),
            "notes": {"snr": "SNR = 1/N0 per resource element, BS transmit power as "
                             "scenario.precoder.power, as in the SSCC experiment",
                      "realisations": __doc__.split("\n\n")[2].replace("\n", " "),
                      "metrics": "decoder output rounded to uint8; mean over images of per-image "
                                 "PSNR (peak 255), SSIM, 3-scale MS-SSIM; accuracy: argmax of the "
                                 "classification head vs the CIFAR-10 label (None if unlabelled)"},
        }

    def link(self, i: int, model: str) -> SemanticLink:
        """The link of sweep point ``i`` and ``model`` (built on first use)."""
        if (i, model) not in self._links:
            sc = self.sweep_points[i][1]
            key = (model, stable_hash(sc.model_dump(mode="json", include={"ofdm", "bs", "ue"})))
            if key not in self._systems:
                self._systems[key] = load_system(sc, self.trained[model])
            if i not in self._draws:
                self._draws[i] = channel_draw(sc)
            self._links[(i, model)] = SemanticLink(sc, self._systems[key], self._draws[i])
        return self._links[(i, model)]

    def run_point(self, point: Point, bar=None) -> dict[str, Any]:
        i, model = point.spec
        images, labels = self.image_set.images, self.image_set.labels
        return _point_row(self.link(i, model), self.exp, self.trained[model], images, labels,
                          point.x, model, sweep_label(self.sweep_points[i][0]), point.config_hash)


def run_semantic(scenario: Scenario, exp: SemanticExperiment, out_dir: Path,
                 progress: Callable[..., Any] | None = None) -> tuple[Path, ImageSet]:
    """Run (or resume) ``exp``; returns the CSV path and the images (for :func:`visual`).

    ``progress`` is a tqdm-like factory.
    """
    kind = SemanticSweep(scenario, exp)
    return run_sweep(kind, out_dir, progress).path, kind.image_set


def _point_row(link: SemanticLink, exp: SemanticExperiment, trained: TrainedWeights,
               images: np.ndarray, labels: np.ndarray | None, snr: float, model: str,
               sweep: str, config_hash: str) -> dict[str, Any]:
    start = time.perf_counter()
    recon, predicted = transmit(link, images, exp.batch_size, snr)
    sc, sem = link.scenario, trained.state.get("semantic", {})
    return {
        "experiment": exp.name, "model": model, "curve": ", ".join(p for p in (sweep, model) if p),
        "sweep": sweep, "channel": sc.channel.model, "fft_size": sc.ofdm.fft_size, "snr_db": snr,
        "no": 10.0 ** (-snr / 10.0), "num_images": len(images),
        "psnr_db": float(psnr(images, recon).mean()), "ssim": float(ssim(images, recon).mean()),
        "ms_ssim": float(ms_ssim(images, recon).mean()),
        "accuracy": None if labels is None else float(np.mean(predicted == labels)),
        "epochs_trained": trained.state.get("epochs_done"),
        "train_wall_s": trained.state.get("wall_s"),
        "encoder_width": sem.get("encoder_width"), "decoder_width": sem.get("decoder_width"),
        "weights": trained.digest,
        "batches": SlotLayout(len(images), exp.batch_size, sc.ue.num_users).num_batches,
        "wall_s": round(time.perf_counter() - start, 3), "seed": realisation_seed(sc, snr, 0),
        "config_hash": config_hash,
    }


def visual(scenario: Scenario, exp: SemanticExperiment, out_dir: Path,
           image_set: ImageSet) -> list[Path]:
    """Fig. 12: the first slot's K users through the first model at each ``visual_snr_db``.

    The first sweep point's scenario, realisation of batch 0 at each SNR (so
    the PSNR shown is that image's in the CSV's point at that SNR, when the
    SNR is one of ``snr_db``). Writes ``<name>_visual.png`` and ``.json``.
    """
    if not exp.visual_snr_db:
        return []
    model = exp.models[0]
    trained = find_weights(exp.weights, scenario, model)
    overrides = expand_sweep(exp.sweep)[0]
    sc = with_overrides(scenario, overrides)
    link = SemanticLink(sc, load_system(sc, trained))
    k = sc.ue.num_users
    idx = SlotLayout(len(image_set.images), exp.batch_size, k).batch(0)
    slots = image_set.images[np.maximum(idx, 0)]
    originals = slots[0]
    labels = None if image_set.labels is None else image_set.labels[np.maximum(idx[0], 0)]
    shots = []
    for snr in exp.visual_snr_db:
        pixels, logits = link.run(slots, snr, 0)
        shots.append({"snr_db": snr, "images": pixels[0], "psnr_db": psnr(originals, pixels[0]),
                      "predicted": logits[0].argmax(-1)})
    title = (f"{scenario.name}: {model} ({trained.state.get('epochs_done')} epochs), "
             f"{sc.channel.model.upper()}, N_f={sc.ofdm.fft_size}, first slot")
    from linksim.experiments.semantic_plots import plot_visual

    png = plot_visual(originals, labels, shots, image_set.class_names,
                      out_dir / f"{exp.name}_visual.png", title)
    names = image_set.class_names
    info = {"model": model, "channel": sc.channel.model, "image_indices": idx[0].tolist(),
            "labels": None if labels is None else [names[i] for i in labels],
            "shots": [{"snr_db": s["snr_db"], "psnr_db": [round(float(p), 2) for p in s["psnr_db"]],
                       "predicted": [names[i] if names else int(i) for i in s["predicted"]]}
                      for s in shots],
            "weights": trained.summary, "provenance": provenance()}
    write_json(out_dir / f"{exp.name}_visual.json", info)
    return [png, out_dir / f"{exp.name}_visual.json"]
