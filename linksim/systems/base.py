"""What every end-to-end learned transceiver declares to the generic trainer and evaluation.

A system is one subpackage of :mod:`linksim.systems` plus one
``SYSTEMS.register(...)`` line (:data:`linksim.registry.SYSTEMS`). Its
:class:`System` entry says:

- ``config``: the pydantic class of its ``semantic:`` section, a subclass of
  :class:`~linksim.config.schema.SemanticConfig` that adds the system's
  architecture (fields made with :func:`arch_field`) and loss weights;
- ``variants``: a :class:`~linksim.registry.Registry` of its variants and
  ablations (the YAML's ``semantic.model``, an evaluation's ``models``);
- ``link``: the link it runs over (:data:`LINKS`);
- ``build(scenario, cfg)``: its Keras model, built. The model is a
  ``keras.Model`` whose ``train_step`` / ``test_step`` take
  ``(images, labels)`` batches and draw channels from its ``channel_sampler``
  attribute (set by the trainer, not saved), and whose ``call`` maps
  ``{"images", "h", "no"}`` to ``{"reconstruction", "logits"}``, so one
  evaluation feeds it the SSCC baselines' realisations;
- ``stages(cfg)``: its training schedule, one :class:`Stage` or several
  (pre-training, then joint training, as seeds 000-002 do);
- ``warm_start``: optional surgery that loads a trained model into a
  differently shaped one (``linksim train --init-from``).

The architecture is typed once, in the config class: :func:`arch_field`
marks a field as architecture and says whether it shapes the weights, how a
warm start may grow it, and how reports label it; :class:`Architecture`
derives the key lists from those marks, so a new knob is one field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from pydantic import Field

from linksim.config import Scenario
from linksim.config.schema import SemanticConfig
from linksim.registry import Registry

LINKS = ("mu_mimo_downlink", "p2p_mimo", "mu_mimo_uplink")
"""Link types a system can run over (the physical layer of :mod:`linksim.phy`)."""

Grow = Literal["more", "double", "add", "fresh"]
"""How a warm start may change a weight-shaping setting: a larger count, twice the width, off ->
on, or any value (the part it shapes starts from its initialiser)."""


def arch_field(default: Any, *, shapes_weights: bool, grow: Grow | None = None,
               label: str | None = None, **kwargs: Any) -> Any:
    """A pydantic ``Field`` marked as architecture (see :class:`Architecture`).

    Parameters
    ----------
    default : Any
        The paper's value.
    shapes_weights : bool
        It changes the weights' shapes (a checkpoint of another value does not load).
    grow : "more" | "double" | "add" | "fresh" | None
        How a warm start may change it (None: it must be equal).
    label : str or None
        Format of the setting in report labels, e.g. ``"blocks={}"``; shown
        only when it differs from the default. None: the key and value.
    """
    return Field(default, json_schema_extra={"architecture": {
        "shapes_weights": shapes_weights, "grow": grow, "label": label}}, **kwargs)


class Architecture:
    """The architecture fields of a system's config class, read from their :func:`arch_field` marks."""

    def __init__(self, config: type[SemanticConfig]) -> None:
        self.config = config
        self.marks: dict[str, dict[str, Any]] = {
            key: field.json_schema_extra["architecture"]
            for key, field in config.model_fields.items()
            if isinstance(field.json_schema_extra, dict) and "architecture" in field.json_schema_extra}

    @property
    def keys(self) -> tuple[str, ...]:
        """Every setting a trained model must be rebuilt with to load its weights."""
        return tuple(self.marks)

    @property
    def weight_shaping(self) -> tuple[str, ...]:
        """The settings that set the weights' shapes (a warm start needs them equal or growable)."""
        return tuple(k for k, m in self.marks.items() if m["shapes_weights"])

    @property
    def growable(self) -> dict[str, Grow]:
        """``{key: how}`` for the settings a warm start may grow."""
        return {k: m["grow"] for k, m in self.marks.items() if m["grow"]}

    def default(self, key: str) -> Any:
        return self.config.model_fields[key].default

    def of(self, settings: dict[str, Any]) -> dict[str, Any]:
        """The architecture of a recorded ``semantic`` dict (absent keys: their defaults)."""
        return {k: settings.get(k, self.default(k)) for k in self.keys}

    def label(self, settings: dict[str, Any]) -> list[str]:
        """Report labels of the settings that differ from the paper's defaults, in field order."""
        out = []
        for key, mark in self.marks.items():
            value = settings.get(key, self.default(key))
            if value == self.default(key):
                continue
            fmt = mark["label"]
            if isinstance(value, bool) or value is None:
                out.append(fmt or key)
            else:
                shown = f"{value:g}" if isinstance(value, float) else value
                out.append(fmt.format(shown) if fmt else f"{key}={shown}")
        return out


@dataclass(frozen=True)
class Stage:
    """One stage of a training schedule.

    Attributes
    ----------
    name : str
        Sub-directory of the run's output (a single-stage schedule uses the output itself).
    prepare : callable or None
        ``prepare(model, cfg)`` before the stage: freeze or unfreeze parts, switch the loss.
    epochs : callable or None
        ``epochs(cfg) -> int`` for this stage (None: ``cfg.epochs``).
    """

    name: str
    prepare: Callable[[Any, SemanticConfig], None] | None = None
    epochs: Callable[[SemanticConfig], int] | None = None


def single_stage(cfg: SemanticConfig) -> tuple[Stage, ...]:
    """End-to-end training from the start, one stage (seed 003)."""
    return (Stage("train"),)


@dataclass(frozen=True)
class System:
    """A learned end-to-end transceiver (module docstring)."""

    name: str
    title: str
    paper: str
    link: str
    config: type[SemanticConfig]
    variants: Registry
    build: Callable[[Scenario, SemanticConfig], Any]
    quick: Callable[[SemanticConfig], SemanticConfig]
    stages: Callable[[SemanticConfig], tuple[Stage, ...]] = single_stage
    warm_start: Any = None
    benchmark: Callable[[int], list[dict]] | None = None
    """``benchmark(steps) -> rows``: training throughput at the system's own reference
    scenario (``linksim bench --only systems``); one dict per timed configuration."""

    def __post_init__(self) -> None:
        if self.link not in LINKS:
            raise ValueError(f"system {self.name!r}: link {self.link!r}; allowed: {', '.join(LINKS)}")

    @property
    def architecture(self) -> Architecture:
        return Architecture(self.config)

    @property
    def summary(self) -> str:
        """One line for ``linksim list``."""
        return f"{self.title} ({self.paper}; {self.link})"
