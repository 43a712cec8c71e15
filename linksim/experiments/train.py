"""``python -m linksim train``: train one semantic variant with checkpoints, resume and a NaN stop.

Files in the output directory (all rewritten or appended at every epoch end,
so an interrupted run loses at most the epoch in progress):

- ``last.keras``: the full model *with its optimizer state*; re-running with
  the same directory loads it and continues at the next epoch (resume);
- ``last.weights.h5`` / ``best.weights.h5``: weights after the last epoch and
  after the epoch with the lowest validation loss;
- ``state.json``: epochs done, best val loss, optimizer step, wall time, step size per epoch,
  ``status`` (``running``, ``done``, ``early_stop``, ``time_budget``, ``nan``,
  ``interrupted``),
  configuration, data source (and a digest of its images: a resume on other
  data is refused) and provenance;
- ``history.csv`` (Keras ``CSVLogger``, one row per epoch, appended on resume;
  rows of an epoch that is redone are dropped first), ``batches.csv``
  (running training loss per step, which shows a collapse inside an epoch),
  ``loss_curve.png`` and TensorBoard scalars in ``tensorboard/``.

The time budget is checked after every step; the epoch in progress then ends
early and is checkpointed as done. Ctrl-C (or SIGTERM, which the CLI turns
into the same interruption, e.g. ``kill`` of a background run) drops the epoch
in progress and marks ``status`` ``interrupted``; the same command resumes.

A NaN or infinite training loss (the ZF variant's collapse of seed 003's
Fig. 10) stops the run at that step: nothing is saved from the poisoned
weights, the files above keep the last good epoch, and ``status`` is
``"nan"``. That is a result, so :func:`train` returns normally.

Warm start (``init_from``): a new run may begin from another run's weights
(a ``linksim train`` directory or a committed ``models/…`` folder) with a fresh
optimizer and its own epoch count and schedule. Why: sessions on a small
machine are shorter than the training these models need, and only best
weights (not the optimizer state) are small enough to commit; a warm start
continues from them, or fine-tunes a model on another channel. ``state.json``
records where the weights came from and how long they had been trained. The
new run may have more UE decoder blocks than the source (the extra ones start
as identities) or an encoder twice as wide (every channel duplicated): it
begins where the source ended, with more capacity (``grow_into``). Or it may
have k times the source's subcarriers (``ofdm.fft_size``, conv latent): it
begins as the source with every latent value sent k times (``regrid_into``).

Determinism: Keras, NumPy and Sionna are seeded from ``scenario.seed`` and
the epoch the run starts at, and the training images are shuffled (then
grouped into slots of ``num_users``) with a seed derived from the epoch number, so a resumed run sees the same data order as
an uninterrupted one (channel and noise draws restart their stream at the
resume point). Validation draws its channels, SNRs and noise afresh from one
fixed seed every epoch (:class:`FixedValidationDraws`), so validation losses
of different epochs (early stopping, best weights) compare models, not draws.
Early stopping's patience counter restarts at a resume.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import sionna
import tensorflow as tf
from pydantic import ValidationError
from tensorflow.core.framework import summary_pb2

from linksim.config import ConfigError, Scenario
from linksim.config.schema import SemanticConfig
from linksim.data import ENV_VAR, DataError, load_images
from linksim.experiments.provenance import derived_seed, provenance
from linksim.nn.channel import DEFAULT_CACHE, training_sampler
from linksim.registry import SYSTEMS
from linksim.systems.base import Stage
from linksim.systems.checkpoints import STATE_VERSION, migrate_state


def slot_datasets(scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """Train-split images and the validation slots held out from them.

    Returns ``(train_images, train_labels, val_images, val_labels, source)``:
    training images [N, 32, 32, 3] uint8 and labels [N] int32 (grouped into
    new slots every epoch by :func:`_training`); validation images
    [slots, K, 32, 32, 3] and labels [slots, K]: the last ``val_fraction`` of
    a fixed random permutation of the data, in slots of K images (at least
    one slot), the same for every run on the same data and seed. Unlabelled data (the
    ``samples`` fallback) gets label 0 everywhere: the classification head
    then learns nothing useful, which the ``source`` line records.
    """
    cfg = scenario.semantic
    try:
        data = load_images(cfg.data, "train", limit=cfg.num_images, seed=scenario.seed,
                           image_size=cfg.image_size)
    except DataError as err:
        raise ConfigError(f"semantic.data: {err}") from None
    k = scenario.ue.num_users
    slots = len(data.images) // k
    num_val = max(1, round(cfg.val_fraction * slots))
    if slots - num_val < 1:
        raise ConfigError(f"semantic.data: {len(data.images)} images make {slots} slot(s) of "
                          f"{k}; need at least 2 (train and validation)")
    labels = data.labels if data.labels is not None else np.zeros(len(data.images), np.int64)
    source = data.source + ("" if data.labels is not None else "; unlabelled: labels set to 0")
    # image folders are read class by class: a fixed permutation first, or the
    # validation slots would hold one class only
    order = np.random.default_rng(derived_seed(scenario.seed, "split")).permutation(len(labels))
    shape = data.images.shape[1:]
    images = data.images[order[: slots * k]].reshape(slots, k, *shape)
    labels = labels[order[: slots * k]].reshape(slots, k).astype(np.int32)
    cut = slots - num_val
    return (images[:cut].reshape(-1, *shape), labels[:cut].reshape(-1), images[cut:],
            labels[cut:], source)


def _to_float(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return tf.cast(images, tf.float32) / 255.0, labels


def _validation(images: np.ndarray, labels: np.ndarray, batch: int) -> tf.data.Dataset:
    """Fixed validation slots [b, K, 32, 32, 3] in [0, 1], in order."""
    data = tf.data.Dataset.from_tensor_slices((images, labels))
    return data.batch(batch).map(_to_float).prefetch(2)


def _training(images: np.ndarray, labels: np.ndarray, users: int, batch: int, seed: int,
              epochs: range) -> tf.data.Dataset:
    """One pass per epoch number: images shuffled, grouped into slots of ``users``, batched.

    Each pass is shuffled with a seed derived from its epoch number (not from
    an iterator's position), which is what makes resumed runs see the same
    order as uninterrupted ones; regrouping every epoch gives each image new
    slot neighbours (other users' images, hence other interference).
    """
    base = tf.data.Dataset.from_tensor_slices((images, labels))
    seeds = [derived_seed(seed, "shuffle", e) for e in epochs]
    passes = tf.data.Dataset.from_tensor_slices(tf.constant(seeds, tf.int64))
    data = passes.flat_map(lambda s: base.shuffle(len(images), seed=s)
                           .batch(users, drop_remainder=True).batch(batch, drop_remainder=True))
    return data.map(_to_float).prefetch(2)


class _Guard(keras.callbacks.Callback):
    """Stops on a NaN/Inf loss or when the time budget is spent; checkpoints good epochs.

    The checks run after every training step, so a collapse is caught at the
    step where it happens and the time budget is kept to within one step.
    """

    def __init__(self, out: Path, state: dict[str, Any], budget_s: float | None) -> None:
        super().__init__()
        self.out, self.state, self.budget_s = out, state, budget_s
        self.t0 = time.monotonic()
        self.wall0 = float(state.get("wall_s", 0.0))
        self.epoch = 0
        path = out / "batches.csv"
        new = not path.is_file() or path.stat().st_size == 0
        self.batches = path.open("a", newline="")
        self.writer = csv.writer(self.batches)
        if new:
            self.writer.writerow(["epoch", "step", "loss"])

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = float(logs["loss"])
        self.writer.writerow([self.epoch, batch, loss])
        if not math.isfinite(loss):
            self.state["status"] = "nan"
            self.state["nan_at"] = {"epoch": self.epoch, "step": batch}
            self.model.stop_training = True
        elif self.budget_s is not None and time.monotonic() - self.t0 > self.budget_s:
            self.state["status"] = "time_budget"
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.batches.flush()
        if self.state["status"] == "nan":
            return  # the weights are poisoned: keep the previous epoch's files
        val = float(logs.get("val_loss", math.nan))
        best = self.state["best_val_loss"]
        if math.isfinite(val) and (best is None or val < best):
            self.state["best_val_loss"] = val
            self.state["best_epoch"] = epoch
            self.model.save_weights(self.out / "best.weights.h5")
        self.model.save_weights(self.out / "last.weights.h5")
        tmp = self.out / "last.tmp.keras"
        self.model.save(tmp)
        tmp.replace(self.out / "last.keras")
        self.state["epochs_done"] = epoch + 1
        self.state["optimizer_step"] = int(self.model.optimizer.iterations.numpy())
        self.state["wall_s"] = round(self.wall0 + time.monotonic() - self.t0, 1)
        _write_state(self.out, self.state)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.batches.close()


class FixedValidationDraws(keras.callbacks.Callback):
    """Validate every epoch on the same channels, SNRs and noise; leave training's stream alone.

    The channel samplers and the AWGN draw from Sionna's global generator
    (``sionna.phy.config.tf_rng``). Without this callback each validation pass
    sees new draws, which moved the validation PSNR of one fixed model with a
    std of 0.07 dB (0.29 dB range over 10 passes, scripts/validation_noise.py):
    as much as tens of epochs of progress late in a run, so
    early stopping stopped runs that were still improving and "best" weights
    were partly the luckiest draw. Here every pass starts from the same
    ``seed``, so two epochs' validation losses differ only by what the model
    learned; the training stream is saved before and restored after, so
    validation does not shift it either.
    """

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed
        self._saved: np.ndarray | None = None

    def on_test_begin(self, logs: dict | None = None) -> None:
        rng = sionna.phy.config.tf_rng
        self._saved = rng.state.numpy()
        rng.reset_from_seed(self.seed)

    def on_test_end(self, logs: dict | None = None) -> None:
        if self._saved is not None:
            sionna.phy.config.tf_rng.state.assign(self._saved)
            self._saved = None


class _Scalars(keras.callbacks.Callback):
    """Epoch metrics as TensorBoard scalars, written with TensorFlow's core summary op.

    Keras's ``TensorBoard`` callback needs the ``tensorboard`` package for
    ``tf.summary.scalar``; the event files written here only need TensorFlow
    and are read by any TensorBoard.
    """

    def __init__(self, log_dir: Path) -> None:
        super().__init__()
        self.writer = tf.summary.create_file_writer(str(log_dir))
        meta = summary_pb2.SummaryMetadata()
        meta.plugin_data.plugin_name = "scalars"
        self.meta = meta.SerializeToString()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        with self.writer.as_default():
            for name, value in (logs or {}).items():
                tf.summary.write(name, tf.constant(float(value)), step=epoch, metadata=self.meta)
        self.writer.flush()


def learning_rate(cfg: SemanticConfig, epoch: int) -> float:
    """Adam's step size in epoch ``epoch`` (0-based): ``learning_rate`` x ``lr_drop_factor``
    once for every ``lr_drops`` entry ``<= epoch``."""
    return cfg.learning_rate * cfg.lr_drop_factor ** sum(epoch >= e for e in cfg.lr_drops)


class _StepSize(keras.callbacks.Callback):
    """Sets :func:`learning_rate` at every epoch start; records it and the batch size in ``state.json``.

    A function of the epoch number alone, so a resumed run is on the same
    schedule as an uninterrupted one. Not Keras's ``LearningRateScheduler``:
    that one adds a ``learning_rate`` column to the epoch logs, which would
    shift the columns of a ``history.csv`` that a resumed run appends to.
    """

    def __init__(self, cfg: SemanticConfig, state: dict[str, Any], batch_slots: int) -> None:
        super().__init__()
        self.cfg, self.state, self.batch_slots = cfg, state, batch_slots

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        rate = learning_rate(self.cfg, epoch)
        self.model.optimizer.learning_rate = rate
        self.state.setdefault("learning_rates", {})[str(epoch)] = rate
        self.state.setdefault("batch_slots_by_epoch", {})[str(epoch)] = self.batch_slots


def trained_on(scenario: Scenario) -> dict[str, Any]:
    """The settings a run's weights depend on: resuming under other ones would mix two trainings.

    Seed (it fixes the validation split and the data order), grid, channel,
    arrays, users, precoder (its power convention sets the SNR scale) and the
    semantic section, except the stopping rules (epochs, patience) and the
    schedule a resumed run may change: the step-size drops and the batch size
    (``state.json`` records both per epoch).
    """
    dump = scenario.model_dump(mode="json", include={"seed", "ofdm", "channel", "bs", "ue",
                                                     "precoder", "semantic"})
    for key in ("epochs", "patience", "lr_drops", "lr_drop_factor", "batch_size"):
        dump["semantic"].pop(key, None)
    return dump


def _recorded_settings(state: dict[str, Any]) -> dict[str, Any]:
    """A run's ``trained_on``, with the defaults of keys added since it was written filled in.

    Why: a setting that a newer linksim introduced (e.g. ``semantic.latent``)
    had its default value in every older run, so it must not block resuming.
    """
    recorded = state.get("trained_on", {})
    if not recorded:  # written before settings were recorded: nothing to fill in
        return recorded
    try:
        return trained_on(Scenario.model_validate(recorded))
    except ValidationError:  # written by a linksim with other keys: compare as recorded
        return recorded


def _changed_keys(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested dicts (a missing key counts)."""
    keys = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += _changed_keys(a, b, f"{prefix}{key}.")
        elif a != b:
            keys.append(f"{prefix}{key}")
    return keys


def data_digest(*arrays: np.ndarray) -> str:
    """sha256 (16 hex digits) of the training and validation slots, in order."""
    sha = hashlib.sha256()
    for array in arrays:
        sha.update(np.ascontiguousarray(array).tobytes())
    return sha.hexdigest()[:16]


def _check_same_data(out: Path, state: dict[str, Any], source: str, digest: str) -> None:
    """Refuse to resume a run on other images than it was trained on.

    Why: ``semantic.data: auto`` resolves through ``$LINKSIM_DATA``, the Keras
    cache and an offline fallback, so the same scenario can read other data
    in another shell; resuming there would silently continue the training on
    it. Runs recorded before the digest existed compare the ``data`` line.
    """
    recorded = state.get("data_sha256_16")
    same = recorded == digest if recorded else state.get("data", source) == source
    if not same:
        raise ConfigError(f"semantic.data: {out} was trained on {state.get('data')}, this run "
                          f"reads {source}; point semantic.data or ${ENV_VAR} at the same data, or "
                          f"use another --out")


def _write_state(out: Path, state: dict[str, Any]) -> None:
    tmp = out / "state.tmp.json"
    tmp.write_text(json.dumps(state, indent=2, default=str))
    tmp.replace(out / "state.json")


def _trim_epochs(path: Path, first_epoch: int) -> None:
    """Drop rows of epochs >= ``first_epoch`` (an epoch that is redone) from a CSV log."""
    if not path.is_file():
        return
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if rows:
        kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) < first_epoch]
        with path.open("w", newline="") as f:
            csv.writer(f).writerows(kept)


def plot_loss_curve(out: Path) -> Path:
    """``loss_curve.png``: running training loss per step and train/val loss per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    steps = np.loadtxt(out / "batches.csv", delimiter=",", skiprows=1, ndmin=2)
    if steps.size:
        ax.plot(steps[:, 2], lw=0.8, label="train (running mean, per step)")
        bad = np.flatnonzero(~np.isfinite(steps[:, 2]))
        if bad.size:  # a NaN is not drawn on a log axis: mark where the run collapsed
            ax.axvline(bad[0], color="red", ls="--", label="NaN/Inf loss: run stopped")
        with (out / "history.csv").open(newline="") as f:
            rows = list(csv.DictReader(f)) if (out / "history.csv").stat().st_size else []
        # an epoch's point sits at its last step
        ends = [int(np.flatnonzero(steps[:, 0] == int(r["epoch"]))[-1]) for r in rows]
        for key in ("loss", "val_loss"):
            if rows and key in rows[0]:
                ax.plot(ends, [float(r[key]) for r in rows], "o", label=f"{key} (epoch)")
    ax.set(xlabel="training step", ylabel="loss (MSE + lambda CE)", yscale="log")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path = out / "loss_curve.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def quick_scenario(scenario: Scenario) -> Scenario:
    """A smoke-test version: the system's narrow model, 64 images, a small bank, 2 epochs (< 1 min)."""
    system = SYSTEMS[scenario.semantic.system]
    cfg = system.quick(scenario.semantic).model_copy(update={
        "num_images": 64, "bank_size": 16, "batch_size": 4, "epochs": 2})
    return scenario.model_copy(update={"semantic": cfg})


def _warm_start(system, scenario: Scenario, cfg, init_from: Path):
    """The system's warm-start policy (``--init-from``), or one line saying it has none."""
    if system.warm_start is None:
        raise ConfigError(f"--init-from: system {system.name!r} has no warm start")
    return system.warm_start.check(scenario, cfg, init_from)


def train(scenario: Scenario, out: Path, *, epochs: int | None = None,
          batch_size: int | None = None, init_from: Path | None = None,
          time_budget_min: float | None = None,
          verbose: int = 1, cache_dir: Path | None = DEFAULT_CACHE,
          callbacks: list[keras.callbacks.Callback] | None = None) -> dict[str, Any]:
    """Train ``scenario.semantic`` into ``out``, stage by stage (resuming what is on disk).

    The schedule is the system's ``stages(cfg)``: one stage trains into
    ``out`` itself; several train into ``out/<stage>`` one after another, each
    starting from the previous stage's best weights (a finished stage is
    skipped on a re-run, an interrupted one resumes). Parameters and the
    returned state are those of :func:`train_stage` (the last stage's).

    With several stages, ``epochs`` overrides ``semantic.epochs`` only: it
    sets the stages that train for ``semantic.epochs`` (the last, end-to-end
    one), not those with their own count (e.g. JSCBF's ``pretrain_epochs``);
    ``time_budget_min`` is one budget for all stages together.
    """
    system = SYSTEMS[scenario.semantic.system]
    stages = system.stages(scenario.semantic)
    if len(stages) == 1:
        return train_stage(scenario, out, stages[0], epochs=epochs, batch_size=batch_size,
                           init_from=init_from, time_budget_min=time_budget_min, verbose=verbose,
                           cache_dir=cache_dir, callbacks=callbacks)
    state: dict[str, Any] = {}
    previous = init_from
    start = time.monotonic()
    for stage in stages:
        budget = None if time_budget_min is None else \
            time_budget_min - (time.monotonic() - start) / 60
        if budget is not None and budget <= 0:
            state = {**state, "status": "time_budget"}
            break
        state = train_stage(scenario, out / stage.name, stage,
                            epochs=epochs if stage.epochs is None else None,
                            batch_size=batch_size, init_from=previous, time_budget_min=budget,
                            verbose=verbose, cache_dir=cache_dir, callbacks=callbacks)
        if state["status"] not in ("done", "early_stop"):
            break
        previous = out / stage.name
    return state


def train_stage(scenario: Scenario, out: Path, stage: Stage, *, epochs: int | None = None,
                batch_size: int | None = None, init_from: Path | None = None,
                time_budget_min: float | None = None,
                verbose: int = 1, cache_dir: Path | None = DEFAULT_CACHE,
                callbacks: list[keras.callbacks.Callback] | None = None) -> dict[str, Any]:
    """Train one stage of ``scenario.semantic``'s schedule into ``out`` (resuming from ``out/last.keras``).

    Parameters
    ----------
    scenario : Scenario
        Grid, arrays, users, seed, and the ``semantic`` section (variant,
        widths, channels, data, epochs, batch size, patience).
    out : Path
        Output directory (see the module docstring for its files).
    epochs, batch_size : int or None
        Override ``semantic.epochs`` (total, counting resumed epochs) and
        ``semantic.batch_size`` (slots; a resumed run may change it, as it may
        add step-size drops).
    init_from : Path or None
        Start a new run from the weights in this directory (``best.weights.h5``,
        else ``last.weights.h5``, with its ``state.json``); the optimizer starts
        fresh. Re-running with the same ``out`` and ``init_from`` resumes.
    time_budget_min : float or None
        Stop after this many minutes of training in this invocation.
    verbose : int
        Keras progress bar (1) or silence (0).
    cache_dir : Path or None
        Channel bank cache (see :class:`~linksim.nn.channel.ChannelBank`).
    callbacks : list or None
        Extra Keras callbacks (tests use them to look inside the run).

    Returns
    -------
    dict
        The final ``state.json`` contents.

    Raises
    ------
    ConfigError
        Unreadable data, ``out`` holds a run of another variant, trained on
        other data or settings (or one not started from ``init_from``), or
        ``init_from`` does not fit.
    """
    cfg = scenario.semantic.model_copy(update={"batch_size": batch_size or scenario.semantic.batch_size})
    system = SYSTEMS[cfg.system]
    epochs = epochs or (stage.epochs(cfg) if stage.epochs else cfg.epochs)
    batch = cfg.batch_size
    warm = None if init_from is None else _warm_start(system, scenario, cfg, init_from)
    out.mkdir(parents=True, exist_ok=True)
    state_path, last = out / "state.json", out / "last.keras"
    resume = last.is_file() and state_path.is_file()
    if resume:
        state = migrate_state(json.loads(state_path.read_text()), str(state_path))
        if state["model"] != cfg.model:
            raise ConfigError(f"{out} holds a run of model {state['model']!r}, not {cfg.model!r}; "
                              f"use another --out")
        changed = _changed_keys(_recorded_settings(state), trained_on(scenario))
        if changed:
            raise ConfigError(f"{out} holds a run trained with other settings "
                              f"({', '.join(changed)}); use another --out or delete it")
        if warm is not None and (state.get("init_from") or {}).get("sha256_16") != warm.digest:
            raise ConfigError(f"--init-from: {out} holds a run not started from {init_from}; it "
                              f"resumes from its own checkpoint: drop --init-from or use another --out")
        model = keras.models.load_model(last)
        initial_epoch = int(state["epochs_done"])
    else:
        state = {"version": STATE_VERSION, "system": cfg.system, "stage": stage.name,
                 "model": cfg.model, "epochs_done": 0, "best_val_loss": None,
                 "best_epoch": None, "optimizer_step": 0, "wall_s": 0.0,
                 "semantic": cfg.model_dump(mode="json"), "seed": scenario.seed,
                 "fft_size": scenario.ofdm.fft_size, "num_users": scenario.ue.num_users,
                 "trained_on": trained_on(scenario),
                 "provenance": provenance()}
        for stale in ("history.csv", "batches.csv"):
            (out / stale).unlink(missing_ok=True)
        model = system.build(scenario, cfg)
        if warm is not None:
            state["init_from"] = system.warm_start.load(model, warm, scenario, cfg)
        if stage.prepare is not None:
            stage.prepare(model, cfg)
        # no XLA: slower for these convolutions on CPU (see linksim.systems.scenario_adaptive.throughput)
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), jit_compile=False)
        initial_epoch = 0
    state.update(status="running", epochs_target=epochs, batch_slots=batch)
    state.pop("nan_at", None)
    if initial_epoch >= epochs:
        state["status"] = "done"
        _write_state(out, state)
        return state
    train_x, train_y, val_x, val_y, source = slot_datasets(scenario)
    digest = data_digest(train_x, train_y, val_x, val_y)
    if resume:
        _check_same_data(out, state, source, digest)
    k = scenario.ue.num_users
    train_slots = len(train_x) // k
    if train_slots < batch:
        raise ConfigError(f"--batch-size {batch}: larger than the {train_slots} training slots")
    state.update(data=source, data_sha256_16=digest, train_slots=train_slots, val_slots=len(val_x))
    start_seed = derived_seed(scenario.seed, "train", initial_epoch)
    keras.utils.set_random_seed(start_seed)
    sionna.phy.config.seed = start_seed
    model.channel_sampler = training_sampler(scenario, cfg, cache_dir=cache_dir)
    for log in ("history.csv", "batches.csv"):
        _trim_epochs(out / log, initial_epoch)
    guard = _Guard(out, state, None if time_budget_min is None else 60.0 * time_budget_min)
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience)
    try:
        model.fit(_training(train_x, train_y, k, batch, scenario.seed, range(initial_epoch, epochs)),
                  validation_data=_validation(val_x, val_y, batch),
                  epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=train_slots // batch,
                  verbose=verbose, shuffle=False,
                  callbacks=[FixedValidationDraws(derived_seed(scenario.seed, "validation")),
                             _StepSize(cfg, state, batch), guard, stopper,
                             keras.callbacks.CSVLogger(out / "history.csv", append=True),
                             _Scalars(out / "tensorboard"), *(callbacks or [])])
    except KeyboardInterrupt:  # Ctrl-C or (through the CLI) SIGTERM: the files hold the last epoch
        state["status"] = "interrupted"
        _write_state(out, state)
        raise
    if state["status"] == "running":
        state["status"] = "early_stop" if stopper.stopped_epoch > 0 else "done"
    _write_state(out, state)
    plot_loss_curve(out)
    return state
