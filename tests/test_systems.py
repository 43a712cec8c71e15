"""The systems layer: registry, typed architecture, state.json migration, layering without back-arrows."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from conftest import make_scenario
from linksim.config import ConfigError, load_scenario
from linksim.config.schema import SemanticConfig
from linksim.registry import SYSTEMS
from linksim.systems.checkpoints import STATE_VERSION, find_weights, migrate_state
from linksim.systems.scenario_adaptive import ARCHITECTURE, ScenarioAdaptiveConfig

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "linksim"

# each layer may import only the layers listed for it (and itself); lower layers never import upper ones
ALLOWED = {
    "registry": set(), "seeding": set(), "runtime": set(),
    "config": {"registry"},
    "data": {"config", "registry", "seeding"},
    "source": {"config", "registry"},
    "phy": {"config", "registry", "runtime", "seeding"},
    "nn": {"config", "registry", "runtime", "seeding", "phy"},
    "systems": {"config", "registry", "runtime", "seeding", "phy", "nn", "data"},
}


def _imports(path: Path) -> set[str]:
    """Every ``linksim.<layer>`` a module imports (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "linksim" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_lower_layers_never_import_upper_ones(layer):
    base = PACKAGE / layer
    files = sorted(base.rglob("*.py")) if base.is_dir() else [PACKAGE / f"{layer}.py"]
    assert files
    for path in files:
        bad = _imports(path) - ALLOWED[layer] - {layer}
        assert not bad, f"{path.relative_to(ROOT)} imports linksim.{sorted(bad)}"


def test_every_system_is_registered_with_its_link_and_variants():
    assert list(SYSTEMS) == ["scenario_adaptive", "jscbf", "lcfsc"]
    for name in SYSTEMS:
        system = SYSTEMS[name]
        assert system.name == name and len(system.variants) >= 2
        assert issubclass(system.config, SemanticConfig)


def test_seed_003_is_a_registered_system_with_its_variants():
    system = SYSTEMS["scenario_adaptive"]
    assert system.link == "mu_mimo_downlink" and system.config is ScenarioAdaptiveConfig
    assert list(system.variants) == ["full", "no_pilot", "rzf", "djscc", "zf"]
    assert [stage.name for stage in system.stages(make_scenario().semantic)] == ["train"]


def test_the_architecture_lists_derive_from_the_config_fields():
    assert ARCHITECTURE.keys == ("encoder_width", "decoder_width", "latent", "decoder_blocks",
                                 "pixel_path", "csi_error", "head_width", "ce_weight")
    assert ARCHITECTURE.weight_shaping == ("encoder_width", "decoder_width", "latent",
                                           "decoder_blocks", "pixel_path", "head_width")
    assert ARCHITECTURE.growable == {"encoder_width": "double", "decoder_width": "double",
                                     "decoder_blocks": "more", "pixel_path": "add",
                                     "head_width": "fresh"}
    assert ARCHITECTURE.label({"latent": "conv", "decoder_blocks": 8, "pixel_path": True,
                               "ce_weight": 0.001}) == ["latent=conv", "decoder_blocks=8",
                                                       "pixel_path"]
    assert ARCHITECTURE.of({"latent": "conv"})["encoder_width"] == 1.0


def test_the_semantic_section_is_validated_by_its_systems_class(tmp_path):
    sc = make_scenario(semantic={"encoder_width": 0.5, "latent": "conv"})
    assert isinstance(sc.semantic, ScenarioAdaptiveConfig) and sc.semantic.encoder_width == 0.5
    assert sc.model_dump()["semantic"]["latent"] == "conv"  # the subclass's fields are dumped
    bad = tmp_path / "s.yaml"
    bad.write_text("semantic: {encoder_widht: 0.5}\n")
    with pytest.raises(ConfigError, match=r"s.yaml: semantic.encoder_widht: unknown key; allowed "
                                          r"keys here: system, model, .*encoder_width"):
        load_scenario(bad)
    bad.write_text("semantic: {system: nope}\n")
    with pytest.raises(ConfigError, match="'nope' is not a known learned system; allowed: "
                                          "scenario_adaptive"):
        load_scenario(bad)
    bad.write_text("semantic: {model: nope}\n")
    with pytest.raises(ConfigError, match=r"semantic.model: 'nope' -- 'nope' is not a known "
                                          r"seed-003 variant; allowed: full, no_pilot"):
        load_scenario(bad)


def test_a_version_1_state_is_migrated_in_one_place():
    old = {"model": "full", "semantic": {"encoder_width": 0.5, "decoder_snr": False},
           "trained_on": {"semantic": {"decoder_conv": False}, "runtime": {"precision": "single"}}}
    new = migrate_state(old)
    assert new["version"] == STATE_VERSION and new["system"] == "scenario_adaptive"
    assert new["semantic"] == {"encoder_width": 0.5, "ce_weight": 0.01, "system": "scenario_adaptive"}
    assert "decoder_conv" not in new["trained_on"]["semantic"]
    assert "precision" not in new["trained_on"]["runtime"]
    assert "version" not in old  # the input is not changed
    assert migrate_state(new) == new
    with pytest.raises(ConfigError, match="semantic.decoder_snr=True, an option that was removed"):
        migrate_state({"model": "full", "semantic": {"decoder_snr": True}})
    with pytest.raises(ConfigError, match="newer than this linksim"):
        migrate_state({"version": STATE_VERSION + 1})


def test_committed_weights_are_found_from_the_scenario_file_whatever_the_working_directory(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sc = load_scenario(ROOT / "scenarios" / "umi_4x4.yaml")
    trained = find_weights("models/umi_4x4/{model}", sc, "full", system="scenario_adaptive")
    assert trained.path == ROOT / "models" / "umi_4x4" / "full" / "best.weights.h5"
    assert trained.state["version"] == STATE_VERSION
    with pytest.raises(ConfigError, match="holds a model of system 'scenario_adaptive', not 'x'"):
        find_weights("models/umi_4x4/{model}", sc, "full", system="x")


def test_every_committed_state_migrates():
    for path in sorted((ROOT / "models").glob("*/*/state.json")):
        state = migrate_state(json.loads(path.read_text()), str(path))
        assert state["system"] in SYSTEMS and state["version"] == STATE_VERSION
        system = SYSTEMS[state["system"]]
        cfg = system.config.model_validate(
            {**system.architecture.of(state["semantic"]), "model": state["model"]})
        assert cfg.model == state["model"]
