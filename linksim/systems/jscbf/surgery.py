"""Warm starts for JSCBF: load a trained model of the same architecture (stage to stage, ``--init-from``).

The generic trainer starts each stage of :func:`~linksim.systems.jscbf.model.stages`
from the previous stage's best weights through ``system.warm_start``; JSCBF
grows nothing, so a source must have the same weight-shaping settings and grid.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from linksim.config import ConfigError, Scenario
from linksim.systems.checkpoints import TrainedWeights, find_weights, load_weights_into
from linksim.systems.jscbf.config import JSCBFConfig
from linksim.systems.jscbf.model import ARCHITECTURE, JSCBFSystem


class WarmStart:
    """Same-architecture warm start: :meth:`check` before anything is written, then :meth:`load`."""

    def check(self, scenario: Scenario, cfg: JSCBFConfig, source: Path) -> TrainedWeights:
        """The weights to load; ConfigError (one line, ``--init-from``) if they cannot fit ``cfg``'s model."""
        trained = find_weights(str(source), scenario, cfg.model, key="--init-from", system="jscbf")
        recorded = ARCHITECTURE.of(trained.semantic)
        changed = [k for k in ARCHITECTURE.weight_shaping if _norm(recorded[k]) != _norm(getattr(cfg, k))]
        theirs = {"fft_size": trained.state.get("fft_size", scenario.ofdm.fft_size),
                  "num_users": trained.state.get("num_users", scenario.ue.num_users)}
        ours = {"fft_size": scenario.ofdm.fft_size, "num_users": scenario.ue.num_users}
        changed += [k for k in theirs if theirs[k] != ours[k]]
        if changed:
            raise ConfigError(f"--init-from: {trained.path.parent} was trained with other "
                              f"{', '.join(changed)}; JSCBF warm-starts only the same architecture")
        return trained

    def load(self, model: JSCBFSystem, warm: TrainedWeights, scenario: Scenario,
             cfg: JSCBFConfig) -> dict[str, Any]:
        """Load ``warm`` into ``model``; what ``state.json`` records as ``init_from``."""
        load_weights_into(model, warm.path, scenario, key="--init-from")
        return warm.summary


def _norm(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
