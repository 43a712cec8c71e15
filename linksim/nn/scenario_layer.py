"""Keras layers configured by a linksim :class:`~linksim.config.Scenario`.

The semantic blocks that touch the physical layer (grid mapping, precoding)
need the scenario's resource grid and array sizes. They take the validated
``Scenario`` object in their constructor and store it in ``get_config`` as its
JSON dump, so a ``.keras`` file carries the grid it was trained on and
rebuilds it when loaded. The experiments list is dropped: a model does not
depend on which experiments the YAML also asked for.
"""
from __future__ import annotations

from typing import Any

import keras

from linksim.config import Scenario


def scenario_config(scenario: Scenario) -> dict[str, Any]:
    """JSON-serialisable dump of ``scenario`` without its experiments."""
    return scenario.model_copy(update={"experiments": []}).model_dump(mode="json")


def from_scenario_config(config: dict[str, Any], tuple_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """The constructor arguments of a ``get_config`` dict: the scenario validated, ``tuple_keys`` as tuples."""
    config = dict(config)
    config["scenario"] = Scenario.model_validate(config["scenario"])
    for key in tuple_keys:
        if key in config:
            config[key] = tuple(config[key])
    return config


class ScenarioLayer(keras.layers.Layer):
    """Base of layers whose constructor takes ``scenario`` (see module docstring)."""

    def __init__(self, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scenario": scenario_config(self.scenario)}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**from_scenario_config(config))
