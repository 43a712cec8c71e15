"""Scenario configuration: the YAML schema and its loader (the validation boundary)."""
from linksim.config.load import ConfigError, expand_sweep, load_scenario, sweep_label, with_overrides
from linksim.config.schema import (
    MCS,
    ArrayConfig,
    BLERExperiment,
    ChannelConfig,
    OFDMConfig,
    P2PConfig,
    PrecoderConfig,
    ReceiverConfig,
    Scenario,
    SemanticExperiment,
    SSCCExperiment,
)

__all__ = [
    "MCS", "ArrayConfig", "BLERExperiment", "ChannelConfig", "ConfigError", "OFDMConfig",
    "P2PConfig", "PrecoderConfig", "ReceiverConfig", "SSCCExperiment", "Scenario", "SemanticExperiment", "expand_sweep", "load_scenario",
    "sweep_label", "with_overrides",
]
