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

import textwrap
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import sionna
import tensorflow as tf

from linksim.config import (Scenario, SemanticExperiment, expand_sweep, sweep_label,
                            with_overrides)
from linksim.config.schema import SemanticConfig
from linksim.data import ImageSet
from linksim.data.metrics import ms_ssim, psnr, ssim
from linksim.experiments.engine import Executor, Point, SweepKind, run_sweep
from linksim.experiments.provenance import provenance, stable_hash
from linksim.experiments.results import ResultTable, write_json  # noqa: F401  (ResultTable: tests)
from linksim.experiments.slots import (SlotLayout, experiment_meta, load_experiment_images,
                                       realisation_seed)
from linksim.phy.channels import CHANNELS
from linksim.phy.noise import snr_db_to_no
from linksim.phy.ofdm import resource_grid
from linksim.phy.p2p import P2PBlockFading
from linksim.runtime import compiled
from linksim.nn.channel import outdated_csi
from linksim.registry import SYSTEMS
from linksim.systems.checkpoints import TrainedWeights, find_weights, load_weights_into

COLUMNS = (
    "experiment", "model", "curve", "sweep", "channel", "fft_size", "snr_db", "no", "num_images",
    "psnr_db", "ssim", "ms_ssim", "accuracy", "epochs_trained", "train_wall_s", "encoder_width",
    "decoder_width", "weights", "batches", "wall_s", "seed", "config_hash",
)


def load_system(scenario: Scenario, trained: TrainedWeights):
    """Build the trained run's system and variant with the architecture it recorded, and load its weights."""
    system = SYSTEMS[trained.state["system"]]
    recorded = system.architecture.of(trained.semantic)
    cfg = system.config.model_validate({
        **scenario.semantic.model_dump(mode="json", include=set(SemanticConfig.model_fields)),
        "system": system.name, "model": trained.model, **recorded})
    model = system.build(scenario, cfg)
    load_weights_into(model, trained.path, scenario)
    return model


def channel_draw(scenario: Scenario) -> Callable:
    """``draw(batch_size) -> h``: the scenario's channel block, compiled in its runtime mode.

    On ``link: p2p_mimo`` one N_R x N_T matrix per slot (:class:`~linksim.phy.p2p.P2PBlockFading`,
    what the P2P systems take as ``h``), else the OFDM downlink's responses.
    """
    block = (P2PBlockFading(scenario) if scenario.link == "p2p_mimo"
             else CHANNELS[scenario.channel.model](scenario, resource_grid(scenario)))
    return compiled(block, scenario.runtime.mode)


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

    def __init__(self, scenario: Scenario, system: Any,
                 draw_channel: Callable | None = None):
        self.scenario, self.system = scenario, system
        # models evaluated on the same scenario share one compiled draw (XLA compiles are slow)
        self.draw_channel = draw_channel or channel_draw(scenario)
        self._forward = compiled(system, "graph" if scenario.runtime.mode == "xla" else
                                 scenario.runtime.mode)

    def run(self, images: np.ndarray, snr_db: float, batch_index: int) -> tuple[np.ndarray, np.ndarray]:
        sionna.phy.config.seed = realisation_seed(self.scenario, snr_db, batch_index)
        h = self.draw_channel(images.shape[0])
        no = tf.fill([images.shape[0]], tf.constant(snr_db_to_no(snr_db), tf.float32))
        inputs = {"images": tf.constant(images, tf.float32) / 255.0, "h": h, "no": no}
        csi_error = getattr(self.system, "csi_error", 0.0)
        if csi_error:  # the BS's outdated CSI: the next draw of the same seed
            inputs["h_bs"] = outdated_csi(h, self.draw_channel(images.shape[0]),
                                          csi_error)
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


def system_key(scenario: Scenario) -> str:
    """What a built system depends on: the whole simulated scenario (not its name, experiments or run mode).

    A system may hold scenario constants beyond its weights (JSCBF: the BS's
    pilot matrix and sounding estimator), so two sweep points share a built
    system only when nothing simulated differs.
    """
    return stable_hash(scenario.model_dump(mode="json", exclude={"name", "description",
                                                                 "experiments", "runtime"}))


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
        self.trained = {m: find_weights(exp.weights, scenario, m, system=exp.system)
                        for m in exp.models}
        self.sweep_points = [(p, with_overrides(scenario, p)) for p in expand_sweep(exp.sweep)]
        self._systems: dict[tuple[str, str], Any] = {}
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
            key = (model, system_key(sc))
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
                 progress: Callable[..., Any] | None = None,
                 executor: Executor | None = None) -> tuple[Path, ImageSet]:
    """Run (or resume) ``exp``; returns the CSV path and the images (for :func:`visual`).

    ``progress`` is a tqdm-like factory, ``executor`` where the points run
    (:func:`~linksim.experiments.engine.run_sweep`).
    """
    kind = SemanticSweep(scenario, exp)
    return run_sweep(kind, out_dir, progress, executor).path, kind.image_set


def _point_row(link: SemanticLink, exp: SemanticExperiment, trained: TrainedWeights,
               images: np.ndarray, labels: np.ndarray | None, snr: float, model: str,
               sweep: str, config_hash: str) -> dict[str, Any]:
    start = time.perf_counter()
    recon, predicted = transmit(link, images, exp.batch_size, snr)
    sc, sem = link.scenario, trained.state.get("semantic", {})
    return {
        "experiment": exp.name, "model": model, "curve": ", ".join(p for p in (sweep, model) if p),
        "sweep": sweep, "channel": sc.channel.model, "fft_size": sc.ofdm.fft_size, "snr_db": snr,
        "no": snr_db_to_no(snr), "num_images": len(images),
        "psnr_db": float(psnr(images, recon).mean()), "ssim": float(ssim(images, recon).mean()),
        "ms_ssim": float(ms_ssim(images, recon).mean()),
        "accuracy": (None if labels is None or not getattr(link.system, "classifies", True)
                     else float(np.mean(predicted == labels))),
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
    trained = find_weights(exp.weights, scenario, model, system=exp.system)
    overrides = expand_sweep(exp.sweep)[0]
    sc = with_overrides(scenario, overrides)
    link = SemanticLink(sc, load_system(sc, trained))
    classifies = getattr(link.system, "classifies", True)
    k = sc.ue.num_users
    idx = SlotLayout(len(image_set.images), exp.batch_size, k).batch(0)
    slots = image_set.images[np.maximum(idx, 0)]
    originals = slots[0]
    labels = None if image_set.labels is None else image_set.labels[np.maximum(idx[0], 0)]
    shots = []
    for snr in exp.visual_snr_db:
        pixels, logits = link.run(slots, snr, 0)
        shots.append({"snr_db": snr, "images": pixels[0], "psnr_db": psnr(originals, pixels[0]),
                      "predicted": logits[0].argmax(-1) if classifies else None})
    title = (f"{scenario.name}: {model} ({trained.state.get('epochs_done')} epochs), "
             f"{sc.channel.model.upper()}, N_f={sc.ofdm.fft_size}, first slot")
    from linksim.experiments.semantic_plots import plot_visual

    png = plot_visual(originals, labels, shots, image_set.class_names,
                      out_dir / f"{exp.name}_visual.png", title)
    names = image_set.class_names
    info = {"model": model, "channel": sc.channel.model, "image_indices": idx[0].tolist(),
            "labels": None if labels is None else [names[i] for i in labels],
            "shots": [{"snr_db": s["snr_db"], "psnr_db": [round(float(p), 2) for p in s["psnr_db"]],
                       "predicted": None if s["predicted"] is None else
                       [names[i] if names else int(i) for i in s["predicted"]]}
                      for s in shots],
            "weights": trained.summary, "provenance": provenance()}
    write_json(out_dir / f"{exp.name}_visual.json", info)
    return [png, out_dir / f"{exp.name}_visual.json"]


def per_image(scenario: Scenario, exp: SemanticExperiment, out_dir: Path,
              image_set: ImageSet) -> list[Path]:
    """Seed 000 Fig. 12: every model's per-image metrics at each ``cdf_snr_db`` and their CDFs.

    The first sweep point's scenario and the realisations of the CSV's points
    (a point at the same SNR has these images' mean). Columns: model, snr_db,
    image (index into the test set), psnr_db, ms_ssim and, when
    :meth:`linksim.data.lpips.LPIPS.from_env` finds weights, lpips (else
    empty). Writes ``<name>_per_image.csv`` (rewritten whole: each SNR is
    one pass over the images per model) and ``<name>_cdf.png``.
    """
    if not exp.cdf_snr_db:
        return []
    from linksim.data.lpips import LPIPS
    from linksim.experiments.semantic_plots import plot_cdfs

    lpips = LPIPS.from_env()
    sc = with_overrides(scenario, expand_sweep(exp.sweep)[0])
    images = image_set.images
    path = out_dir / f"{exp.name}_per_image.csv"
    path.unlink(missing_ok=True)
    table = ResultTable(path, ["model", "snr_db", "image", "psnr_db", "ms_ssim", "lpips"])
    draw = channel_draw(sc)
    for model in exp.models:
        trained = find_weights(exp.weights, scenario, model, system=exp.system)
        link = SemanticLink(sc, load_system(sc, trained), draw)
        for snr in exp.cdf_snr_db:
            recon, _ = transmit(link, images, exp.batch_size, snr)
            values = {"psnr_db": psnr(images, recon), "ms_ssim": ms_ssim(images, recon),
                      "lpips": None if lpips is None else lpips(images, recon)}
            for i in range(len(images)):
                table.append({"model": model, "snr_db": snr, "image": i,
                              **{k: ("" if v is None else round(float(v[i]), 5))
                                 for k, v in values.items()}})
    title = textwrap.fill(f"{scenario.name}: {exp.name}, {sc.channel.model}, per image "
                          f"({len(images)} images; {image_set.source})", 120)
    return [path, plot_cdfs(path, out_dir / f"{exp.name}_cdf.png", title)]
