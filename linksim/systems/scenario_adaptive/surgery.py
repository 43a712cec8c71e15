"""Warm-start surgery for seed 003's model: load a trained model into a deeper, wider or wider-grid one.

Why it exists: the committed seed-003 models were grown this way over several
sessions (``state.json``'s ``init_from.grown`` records each step), and
``linksim train --init-from`` with a grown ``semantic:`` section must keep
reproducing that. The policy (:class:`WarmStart`) and the weight surgery
(:func:`grow_into`, :func:`regrid_into`) live here, in one module, and
nowhere else: the generic trainer only calls ``system.warm_start``.

- :func:`grow_into`: more UE-decoder blocks (identities), twice the encoder
  or decoder width (Net2WiderNet), pixel paths (zero-initialised);
- :func:`regrid_into`: k times the subcarriers (a k-fold repetition code).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from linksim.config import ConfigError, Scenario
from linksim.seeding import derived_seed
from linksim.systems.checkpoints import TrainedWeights, find_weights, load_weights_into
from linksim.systems.scenario_adaptive.config import ScenarioAdaptiveConfig
from linksim.systems.scenario_adaptive.decoder import decoder_channels, fold_channels
from linksim.systems.scenario_adaptive.encoder import trunk_channels
from linksim.systems.scenario_adaptive.model import ARCHITECTURE, SemanticSystem, build_system


def _doubles(part: str, theirs: float, ours: float) -> bool:
    """Width ``ours`` has exactly twice every channel count of ``theirs`` (after rounding)."""
    channels = trunk_channels if part == "encoder_width" else decoder_channels
    return channels(ours) == tuple(2 * c for c in channels(theirs))


def _may_grow(key: str, theirs: Any, ours: Any) -> bool:
    """Whether a warm start may go from ``theirs`` to ``ours`` for ``key`` (its ``grow`` mark)."""
    how = ARCHITECTURE.growable.get(key)
    if how == "more":
        return theirs < ours
    if how == "double":
        return _doubles(key, theirs, ours)
    if how == "add":
        return not theirs and ours
    return how == "fresh"


class WarmStart:
    """``linksim train --init-from`` for seed 003: which sources fit, and loading them (module docstring)."""

    @staticmethod
    def source_fft_size(trained: TrainedWeights, scenario: Scenario) -> Any:
        """The N_f ``trained`` was trained at (a state without one: this scenario's)."""
        return trained.state.get("fft_size", scenario.ofdm.fft_size)

    def check(self, scenario: Scenario, cfg: ScenarioAdaptiveConfig, source: Path) -> TrainedWeights:
        """The weights a warm start loads, checked to fit ``cfg``'s model before anything is written.

        Raises ConfigError (one line, ``--init-from``) for a missing or
        unreadable source, another variant, or another architecture. More
        ``decoder_blocks``, twice ``encoder_width`` or ``decoder_width``, or a
        ``pixel_path`` the source lacks is allowed (:func:`grow_into`); so is
        a multiple of its ``ofdm.fft_size``, alone (:func:`regrid_into`).
        """
        trained = find_weights(str(source), scenario, cfg.model, key="--init-from")
        recorded = ARCHITECTURE.of(trained.semantic)
        changed = {key: recorded[key] for key in ARCHITECTURE.weight_shaping
                   if recorded[key] != getattr(cfg, key)}
        theirs_nf, ours_nf = self.source_fft_size(trained, scenario), scenario.ofdm.fft_size
        if theirs_nf != ours_nf:
            # a corrupt state.json may hold anything here: refused in the same line, not a traceback
            if (not isinstance(theirs_nf, int) or theirs_nf < 1 or ours_nf % theirs_nf
                    or ours_nf < 2 * theirs_nf or cfg.latent != "conv" or cfg.model == "djscc"
                    or changed):
                raise ConfigError(f"--init-from: {trained.path.parent} was trained at "
                                  f"ofdm.fft_size={theirs_nf}, this scenario has {ours_nf}; a warm "
                                  f"start may go to a multiple of it (latent: conv, not djscc), "
                                  f"with every other semantic setting unchanged")
            return trained
        if "head_width" in changed and len(changed) > 1:
            raise ConfigError(f"--init-from: a warm start to another semantic.head_width starts the "
                              f"head afresh and changes nothing else; this one also changes "
                              f"{', '.join(k for k in changed if k != 'head_width')}")
        for key, theirs in changed.items():
            ours = getattr(cfg, key)
            if not _may_grow(key, theirs, ours):
                raise ConfigError(f"--init-from: {trained.path.parent} was trained with "
                                  f"semantic.{key}={theirs}, this scenario has {ours}; its weights "
                                  f"do not fit (a warm start may add decoder blocks or pixel "
                                  f"paths, or double the encoder or decoder width)")
        return trained

    def load(self, model: SemanticSystem, warm: TrainedWeights, scenario: Scenario,
             cfg: ScenarioAdaptiveConfig) -> dict[str, Any]:
        """Load ``warm`` into ``model``, growing it if it is deeper, wider or on a wider grid; what to record."""
        theirs_nf = self.source_fft_size(warm, scenario)
        if theirs_nf != scenario.ofdm.fft_size:
            narrow = scenario.model_copy(update={"ofdm": scenario.ofdm.model_copy(
                update={"fft_size": theirs_nf})})
            source = build_system(narrow, cfg)
            load_weights_into(source, warm.path, narrow, key="--init-from")
            regrid_into(source, model)
            return {**warm.summary, "grown": {"fft_size": [theirs_nf, scenario.ofdm.fft_size]}}
        growable = tuple(ARCHITECTURE.growable)
        theirs = {key: ARCHITECTURE.of(warm.semantic)[key] for key in growable}
        if all(theirs[key] == getattr(cfg, key) for key in growable):
            load_weights_into(model, warm.path, scenario, key="--init-from")
            return warm.summary
        source = build_system(scenario, cfg.model_copy(update=theirs))
        load_weights_into(source, warm.path, scenario, key="--init-from")
        if theirs["head_width"] != cfg.head_width:
            with_fresh_head(source, model)
        else:
            grow_into(source, model, seed=derived_seed(scenario.seed, "grow"))
        return {**warm.summary, "grown": {key: [theirs[key], getattr(cfg, key)]
                                          for key in growable if theirs[key] != getattr(cfg, key)}}


def with_fresh_head(source: SemanticSystem, target: SemanticSystem) -> None:
    """Copy every weight of ``source`` into ``target`` except the UE's classification head.

    Why: ``head_width`` measures whether the head's capacity limits the accuracy
    (Fig. 11); the new head starts from its initialiser on the trained
    transceiver, which computes exactly what the source did.
    """
    def body(model: SemanticSystem) -> list:
        head = {id(v) for v in model.decoder.classifier.weights}
        return [v for v in model.weights if id(v) not in head]

    ours, theirs = body(target), body(source)
    pairs = list(zip(ours, theirs))
    bad = [f"{t.path} {tuple(t.shape)} vs {s.path} {tuple(s.shape)}" for t, s in pairs
           if tuple(t.shape) != tuple(s.shape)]
    if len(ours) != len(theirs):
        bad.append(f"{len(ours)} vs {len(theirs)} weights")
    if bad:
        raise ValueError(f"the models differ beyond their classification heads: {bad[0]}")
    for t, s in pairs:
        t.assign(s.numpy())


def grow_into(source: SemanticSystem, target: SemanticSystem, seed: int = 0) -> None:
    """Copy ``source``'s weights into ``target``: more UE decoder blocks, twice the encoder/decoder width, pixel paths.

    ``target`` then computes what ``source`` does (up to float rounding), and
    training adds capacity to a trained model instead of starting over. Why:
    capacity is what limits these models (results/README.md, Fig. 9), but
    paying for it with a fresh run takes more epochs than a session on a small
    machine has; growing a committed model keeps the epochs it already had.

    - Extra decoder blocks (after the source's, at 8x8) start as identities
      (:meth:`~linksim.systems.scenario_adaptive.decoder.SepResBlock.start_as_identity`).
    - ``encoder_width`` or ``decoder_width`` doubled: every channel of that
      part is duplicated (Net2WiderNet, Chen et al. 2016): :func:`widened`
      tiles a weight along its output channels and splits it along its input
      channels (a depthwise kernel, which sums nothing, is tiled).
    - ``pixel_path`` added: its two convolutions start at zero (their
      initialiser), so they add nothing until training moves them.

    Raises ValueError if the two differ in anything else.
    """
    have, want = source.decoder_blocks, target.decoder_blocks
    factors = {part: getattr(target, f"{part}_width") / getattr(source, f"{part}_width")
               for part in ("encoder", "decoder")}
    paths = (source.pixel_path, target.pixel_path)
    if (source.model_name != target.model_name or want < have or paths == (True, False)
            or any(f not in (1, 2) for f in factors.values())
            or ((want, *factors.values()) == (have, 1, 1) and paths[0] == paths[1])):
        raise ValueError(f"can only add decoder blocks or pixel paths to, or double the encoder or "
                         f"decoder width of, a {source.model_name!r} model with {have} blocks, "
                         f"widths {source.encoder_width} / {source.decoder_width} and pixel_path "
                         f"{paths[0]}; the target is a {target.model_name!r} model with {want}, "
                         f"{target.encoder_width} / {target.decoder_width} and {paths[1]}")
    new = target.decoder.residual_blocks[have:]
    fresh = {id(v) for block in new for v in block.weights}
    if paths == (False, True):
        fresh |= {id(v) for v in (*target.encoder.pixel_latent.weights,
                                  *target.decoder.pixel_head.weights)}
    kept = [v for v in target.weights if id(v) not in fresh]
    wider = {id(v) for part, f in factors.items() if f == 2 for v in getattr(target, part).weights}
    rng = np.random.default_rng(seed)
    values, mismatch = [], []
    for t, s in zip(kept, source.weights):
        value = s.numpy()
        if id(t) in wider:  # as it is where the shapes are equal
            value = widened(value, tuple(t.shape), rng, depthwise="depthwise" in t.path)
        if value is None or value.shape != tuple(t.shape):
            mismatch.append(f"{t.path} {tuple(t.shape)} vs {s.path} {tuple(s.shape)}")
        values.append(value)
    if len(kept) != len(source.weights) or mismatch:
        raise ValueError(f"the models differ beyond their decoder blocks, widths and pixel paths: "
                         f"{(mismatch or ['count'])[0]}")
    for t, value in zip(kept, values):
        t.assign(value)
    for block in new:
        block.start_as_identity()


def widened(w: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator,
            depthwise: bool = False) -> np.ndarray | None:
    """``w`` for a layer with twice the channels (``shape``), computing the same; None if impossible.

    The output axis (last) is tiled: channel ``c + C`` is a twin of channel
    ``c``. The input axis (second to last, kernels only) is split between the
    twins as ``w/2 (1 + u)`` and ``w/2 (1 - u)``, u ~ U(-1/2, 1/2): twins carry
    equal values, so the next layer sums them back to ``w``, whatever u is.
    Why the u: with equal halves the twins would get equal gradients and stay
    twins for ever, and the wider model would be the narrow one.
    A ``depthwise`` kernel ([k, k, C, 1]: one filter per channel, no sum over
    channels) is tiled along its channel axis instead: a twin gets its
    original's filter. Per-channel vectors (biases, batch-norm scale, shift
    and statistics) are tiled, so a twin is normalised exactly as its original.
    """
    if w.shape == shape:
        return w
    if len(shape) != w.ndim or any(a != b for a, b in zip(w.shape[:-2], shape[:-2])):
        return None
    if shape[-1] == 2 * w.shape[-1]:
        w = np.concatenate([w, w], axis=-1)
    if w.ndim >= 2 and shape[-2] == 2 * w.shape[-2]:
        if depthwise:
            w = np.concatenate([w, w], axis=-2)
        else:
            u = rng.uniform(-0.5, 0.5, w.shape).astype(w.dtype)
            w = np.concatenate([w / 2 * (1 + u), w / 2 * (1 - u)], axis=-2)
    return w if w.shape == shape else None


def regrid_into(source: SemanticSystem, target: SemanticSystem) -> None:
    """Copy ``source`` (N_f subcarriers) into ``target`` (k N_f, k >= 2): the wider grid starts as a k-fold repetition code.

    Why: the models that need the most training are the wide-grid ones (every
    step costs more than the N_f = 32 step), and at N_f = 32 this project has
    a model trained for 128 epochs; starting N_f = 128 from it keeps its image
    features, precoder and decoder body, and only the grid's extra
    subcarriers have to be learned (results/README.md, Fig. 9).

    Only the layers on the grid side of the 8x8 fold (the encoder's last conv
    and the UE decoder's first layers) change shape with N_f, along their
    channel axes: at 8x8 positions the fold holds C = 2 S N_f / 64 values
    (``fold_channels``), and a position of the wider grid holds k times the
    values of the same position of the narrower one, in the same order.
    Every such channel axis is tiled k times (within its blocks of C, for the
    decoder's [grid, pilot reference] input), and a kernel summing over one
    (its input axis; not a depthwise kernel, which sums nothing) is divided
    by k. So:

    - the encoder sends every latent value of a position k times, each
      copy on other subcarriers (and, at N_f = 32 -> 128, in the other half
      of the slot): a repetition code over frequency;
    - a decoder fed a grid whose fold repeats a narrow grid's fold k times
      computes exactly what the source decoder computes on the narrow grid;
      fed real repeated symbols it averages the k noisy copies (k times the
      SNR, plus frequency diversity). The pilot reference is not such a
      repetition (other subcarriers carry other pilots), nor are the two
      halves of a slot exactly the layout the source saw, so the start is
      close to, not equal to, the source model at k times its SNR.

    Everything else (the image trunk, the gates, the precoder, the decoder's
    blocks and heads) is copied unchanged. Raises ValueError for another
    variant or architecture, a dense latent (its Dense layer has no
    per-position order), DJSCC, or a grid that is not k times wider.
    """
    narrow, wide = source.scenario.ofdm.fft_size, target.scenario.ofdm.fft_size
    k, rest = divmod(wide, narrow)
    same = all(getattr(source, key) == getattr(target, key) for key in ARCHITECTURE.keys)
    if (k < 2 or rest or not same or source.model_name != target.model_name
            or source.latent != "conv" or source.variant.codec != "semantic"):
        raise ValueError(f"can only copy a conv-latent model to a grid k >= 2 times wider with "
                         f"nothing else changed; the source is a {source.model_name!r} model "
                         f"(latent {source.latent!r}) at N_f = {narrow}, the target a "
                         f"{target.model_name!r} model at N_f = {wide}")
    unit = fold_channels(source.scenario.ofdm.num_ofdm_symbols, narrow)
    values = []
    for t, s in zip(target.weights, source.weights, strict=True):
        value = repeated(s.numpy(), tuple(t.shape), k, unit, depthwise="depthwise" in t.path)
        if value is None:
            raise ValueError(f"the models differ beyond the grid: {t.path} {tuple(t.shape)} vs "
                             f"{s.path} {tuple(s.shape)}")
        values.append(value)
    for t, value in zip(target.weights, values):
        t.assign(value)


def repeated(w: np.ndarray, shape: tuple[int, ...], k: int, unit: int,
             depthwise: bool = False) -> np.ndarray | None:
    """``w`` for a layer with k times the channels on its grid-side axes (``shape``); None if impossible.

    An axis k times longer (the last, and the second to last of a kernel) is
    split into its blocks of ``unit`` channels (one block if its length is not
    a multiple of ``unit``) and each block tiled k times: in a block of L
    channels, channel ``c + j L`` is a copy of channel ``c``. A kernel's input axis (second to
    last) is also divided by k, so the k copies sum to one (a ``depthwise``
    kernel is only tiled: one filter per channel, no sum).
    """
    if w.shape == shape:
        return w
    if len(shape) != w.ndim:
        return None
    for axis in (-1, -2)[:w.ndim]:  # output channels; a kernel's input channels
        if shape[axis] != k * w.shape[axis]:
            continue
        blocks = w.shape[axis] // unit if w.shape[axis] % unit == 0 else 1
        w = np.concatenate([np.concatenate([b] * k, axis=axis)
                            for b in np.split(w, blocks, axis=axis)], axis=axis)
        if axis == -2 and not depthwise:
            w = w / k
    return w if w.shape == shape else None
