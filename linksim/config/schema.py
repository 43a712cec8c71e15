"""Typed, frozen scenario configuration (pydantic v2).

The YAML is parsed once, here, into these objects; code past this boundary
trusts them. Every field has a default, so a scenario file states only what
differs from seed 003's Table II (2.6 GHz, 15 kHz, 14 symbols, pilots on
symbols 2 and 11, CP 20, BS 1x2 dual cross-polarised 38.901 panel, 4
single-antenna users).

Plug-in names (channel model, precoder, estimator, equalizer, codec, system)
are checked against the tables of :mod:`linksim.registry`, so the allowed
values in an error message are always the ones that actually exist. This
package imports nothing above :mod:`linksim.registry`: the layers fill the
tables when imported (:func:`linksim.plugins.load_all`, called by the CLI).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, SerializeAsAny,
                      SerializerFunctionWrapHandler, ValidationError, ValidationInfo,
                      field_validator, model_serializer, model_validator)

from linksim.registry import (BS_ESTIMATORS, CHANNELS, CODECS, EQUALIZERS, ESTIMATORS, PRECODERS,
                              SOUNDING_ESTIMATORS, SYSTEMS, Registry)

_PI = 3.141592653589793


class Strict(BaseModel):
    """Base: unknown keys are errors, objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HashStable(Strict):
    """Base of a section that gained keys after results were committed.

    The keys in ``_added_keys`` are left out of dumps while they hold their
    default: at their defaults they change nothing that is simulated, so the
    configuration hashes of existing result rows (which hash the dumped
    scenario) stay valid and a resumed run does not recompute them. Loading a
    dump fills them back in with the defaults.
    """

    _added_keys: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _drop_added_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for key in self._added_keys:
            if key in data and getattr(self, key) == type(self).model_fields[key].default:
                del data[key]
        return data


def _known_keys(table: Registry, names: list[str], field: str) -> list[str]:
    """Every name is a key of the registry ``table`` (message lists the allowed ones), no repeats."""
    table.require_loaded()
    for name in names:
        if name not in table:
            raise ValueError(f"{name!r} is not a known {table.kind}; allowed: {', '.join(table)}")
    if len(set(names)) != len(names):
        raise ValueError(f"{field} must be distinct")
    return names


def _registered(table: Registry):
    """Validator factory: the value must be a key of the registry ``table``."""

    def check(value: str) -> str:
        return _known_keys(table, [value], table.kind)[0]

    return check


class OFDMConfig(Strict):
    """OFDM resource grid (seed 003 Table II)."""

    fft_size: int = Field(32, ge=8, le=4096, description="number of subcarriers N_f")
    num_ofdm_symbols: int = Field(14, ge=2, le=28)
    subcarrier_spacing: float = Field(15e3, gt=0, description="Hz")
    cyclic_prefix_length: int = Field(20, ge=0)
    pilot_pattern: Literal["kronecker"] = "kronecker"
    pilot_ofdm_symbol_indices: tuple[int, ...] = Field((2, 11), min_length=1)

    @model_validator(mode="after")
    def _pilots_inside_grid(self) -> "OFDMConfig":
        bad = [i for i in self.pilot_ofdm_symbol_indices if not 0 <= i < self.num_ofdm_symbols]
        if bad:
            raise ValueError(
                f"pilot_ofdm_symbol_indices {bad} outside 0..{self.num_ofdm_symbols - 1}"
            )
        if len(set(self.pilot_ofdm_symbol_indices)) != len(self.pilot_ofdm_symbol_indices):
            raise ValueError("pilot_ofdm_symbol_indices must be distinct")
        return self

    @property
    def num_data_ofdm_symbols(self) -> int:
        """N_st: OFDM symbols carrying data (12 in seed 003)."""
        return self.num_ofdm_symbols - len(self.pilot_ofdm_symbol_indices)


class ArrayConfig(Strict):
    """A 3GPP 38.901 panel array (single panel)."""

    num_rows: int = Field(1, ge=1, le=64)
    num_cols: int = Field(1, ge=1, le=64)
    polarization: Literal["single", "dual"] = "single"
    polarization_type: Literal["V", "H", "VH", "cross"] = "V"
    pattern: Literal["omni", "38.901"] = "omni"

    @model_validator(mode="after")
    def _polarization_consistent(self) -> "ArrayConfig":
        single = self.polarization == "single"
        if single and self.polarization_type not in ("V", "H"):
            raise ValueError("polarization 'single' needs polarization_type 'V' or 'H'")
        if not single and self.polarization_type not in ("VH", "cross"):
            raise ValueError("polarization 'dual' needs polarization_type 'VH' or 'cross'")
        return self

    @property
    def num_ant(self) -> int:
        return self.num_rows * self.num_cols * (2 if self.polarization == "dual" else 1)


class BSConfig(Strict):
    """Base station: one sector, one panel."""

    array: ArrayConfig = ArrayConfig(
        num_rows=1, num_cols=2, polarization="dual", polarization_type="cross", pattern="38.901"
    )


class UEConfig(Strict):
    """User equipments: ``num_users`` UEs with ``array`` each.

    ``link: mu_mimo_downlink`` (one stream per user) needs single-antenna UEs;
    ``link: p2p_mimo`` takes one UE with any array (N_R = ``array.num_ant``).
    """

    num_users: int = Field(4, ge=1, le=64)
    array: ArrayConfig = ArrayConfig()


class ChannelConfig(HashStable):
    """Propagation channel. ``model`` is a key of ``linksim.phy.CHANNELS``."""

    model: Annotated[str, Field(description="channel model registry key")] = "umi"
    carrier_frequency: float = Field(2.6e9, gt=0, description="Hz")
    normalize: bool = Field(
        True, description="unit average energy per link over the grid (SNR well defined)"
    )
    pathloss: bool = Field(False, description="38.901: keep path loss (use with normalize: false)")
    shadow_fading: bool = True
    o2i_model: Literal["low", "high"] = "low"
    indoor_probability: float | None = Field(None, ge=0, le=1, description="None: 38.901 default")
    min_ut_velocity: float | None = Field(None, ge=0, description="m/s; None: 38.901 default")
    max_ut_velocity: float | None = Field(None, ge=0, description="m/s; None: 38.901 default")
    delay_spread: float = Field(100e-9, gt=0, description="s; CDL/TDL only")
    cdl_model: Literal["A", "B", "C", "D", "E"] = "C"
    tdl_model: Literal["A", "B", "C", "D", "E", "A30", "B100", "C300"] = "C"
    num_paths: int = Field(
        2, ge=1, le=64, description="sparse_multipath: paths L_p per user (seed 000 eq. 5; 2 in "
                                    "its Sec. IV-B)")
    azimuth_range: tuple[float, float] = Field(
        (-_PI, _PI), description="sparse_multipath: azimuth of departure theta ~ U[low, high], "
                                 "rad (seed 000: [-pi, pi])")
    zenith_range: tuple[float, float] = Field(
        (0.0, _PI / 4), description="sparse_multipath: zenith angle phi ~ U[low, high], rad, as "
                                    "it enters seed 000's eq. 6 (seed 000: [0, pi/4])")
    max_delay: float | None = Field(
        None, gt=0, description="sparse_multipath: path delays tau ~ U[0, max_delay], s; None: "
                                "the cyclic prefix duration (every path inside the CP, so the "
                                "per-subcarrier response is exact on the OFDM grid)")

    _check_model = field_validator("model")(_registered(CHANNELS))

    @field_validator("azimuth_range", "zenith_range")
    @classmethod
    def _angle_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not -2 * _PI <= value[0] <= value[1] <= 2 * _PI:
            raise ValueError("need (low, high) with -2 pi <= low <= high <= 2 pi (radians)")
        return value

    _added_keys = ("num_paths", "azimuth_range", "zenith_range", "max_delay")


class PrecoderConfig(HashStable):
    """Downlink precoder at the BS and the CSI it precodes from (:mod:`linksim.phy.bs_csi`).

    ``csi: perfect`` (seed 003's assumption): the true channel. ``estimated``:
    the estimate ``csi_estimator`` (a ``BS_ESTIMATORS`` key) makes from
    ``csi_pilots`` sounding pilot OFDM symbols at ``csi_snr_db`` (None: the
    data SNR); the signal still propagates through the true channel.
    """

    name: str = "rzf"
    alpha: float | None = Field(
        None, ge=0, description="RZF regulariser; None: the noise variance"
    )
    power: Literal["per_antenna", "total"] = Field(
        "per_antenna",
        description="per_antenna: E|x|^2 = 1 on every BS antenna and RE (seed 003's "
        "E[|X|^2] <= P, total num_bs_ant); total: the antennas share power 1 per RE",
    )

    iterations: int = Field(
        20, ge=1, le=1000, description="wmmse: WMMSE iterations (seed 000 Algorithm 1's I_1)")
    csi: Literal["perfect", "estimated"] = Field(
        "perfect", description="CSI the BS precodes from: the true channel, or an estimate")
    csi_estimator: str = Field("ls", description="BS channel estimator (csi: estimated)")
    csi_pilots: int = Field(1, description="L sounding pilot OFDM symbols (csi: estimated)")
    csi_snr_db: float | None = Field(
        None, description="SNR of the sounding pilots [dB]; None: the data SNR")

    _added_keys = ("csi", "csi_estimator", "csi_pilots", "csi_snr_db", "iterations")

    _check_name = field_validator("name")(_registered(PRECODERS))
    _check_csi_estimator = field_validator("csi_estimator")(_registered(BS_ESTIMATORS))

    @field_validator("csi_pilots")
    @classmethod
    def _at_least_one_pilot(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"csi_pilots must be >= 1 (an estimate needs at least one sounding "
                             f"pilot symbol), got {value}")
        return value


class ReceiverConfig(Strict):
    """Per-UE receiver: channel estimation, equalisation, demapping, LDPC decoding."""

    csi: Literal["perfect", "estimated"] = "estimated"
    estimator: str = "ls"
    interpolation: Literal["lin", "nn", "lin_time_avg"] = "lin"
    equalizer: str = "lmmse"
    demapping: Literal["app", "maxlog"] = "app"
    ldpc_iterations: int = Field(20, ge=1, le=200)

    _check_estimator = field_validator("estimator")(_registered(ESTIMATORS))
    _check_equalizer = field_validator("equalizer")(_registered(EQUALIZERS))


class SoundingConfig(Strict):
    """BS-side CSI acquisition from downlink pilot OFDM symbols (seed 000 Sec. IV-B, Table I).

    The BS sends ``num_pilots`` (L) pilot OFDM symbols, column l of a known
    N_t x L pilot matrix on every subcarrier; each UE feeds back what it
    received and the BS estimates the full channel with ``estimator``
    (:mod:`linksim.phy.sounding`).
    """

    num_pilots: int = Field(16, ge=1, le=4096, description="pilot OFDM symbols L (Table I: 4..64)")
    pilots: Literal["auto", "dft", "random"] = Field(
        "auto", description="pilot matrix: DFT rows (orthogonal for L >= N_t), random "
                            "unit-modulus entries, or auto (DFT if L >= N_t else random)")
    estimator: str = Field("omp", description="linksim.phy.sounding.SOUNDING_ESTIMATORS key")
    oversampling: int = Field(4, ge=1, le=8, description="omp: angular dictionary oversampling "
                                                         "per UPA dimension (4: 3-4x lower NMSE "
                                                         "than 2 at 20 dB, off-grid leakage)")
    max_atoms: int | None = Field(None, ge=1, description="omp: most atoms; None: "
                                                          "min(4 num_paths, L // 2, N_t)")

    _check_estimator = field_validator("estimator")(_registered(SOUNDING_ESTIMATORS))


class MCS(Strict):
    """Modulation and coding scheme: QAM order and LDPC code rate."""

    qam: Literal[4, 16, 64, 256] = 4
    rate: float = Field(0.5, description="code rate; a number or a fraction like '2/3'")

    @field_validator("rate", mode="before")
    @classmethod
    def _fraction(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return float(Fraction(value.strip()))
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"rate {value!r} is not a number or fraction") from None
        return value

    @field_validator("rate")
    @classmethod
    def _rate_range(cls, value: float) -> float:
        if not 0.2 <= value <= 0.93:
            raise ValueError(f"rate {value} outside the 5G LDPC range 0.2..0.93")
        return value

    @property
    def bits_per_symbol(self) -> int:
        return self.qam.bit_length() - 1

    @property
    def label(self) -> str:
        frac = Fraction(self.rate).limit_denominator(16)
        return f"{self.qam}QAM r={frac.numerator}/{frac.denominator}"


class EbNoRange(Strict):
    """A dB grid (Eb/N0, or SNR for image experiments): ``start`` to ``stop`` inclusive in steps of ``step``."""

    start: float
    stop: float
    step: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "EbNoRange":
        if self.stop < self.start:
            raise ValueError("stop must be >= start")
        return self

    def values(self) -> list[float]:
        n = int(round((self.stop - self.start) / self.step)) + 1
        return [round(self.start + i * self.step, 6) for i in range(n)]


class BLERExperiment(Strict):
    """Monte-Carlo BLER/BER vs Eb/N0 of the coded MU-MIMO OFDM downlink.

    ``sweep`` maps dotted config paths (``channel.model``, ``ofdm.fft_size``,
    ``receiver.csi``, ...) to lists of values; every combination of the sweep
    values and every ``mcs`` is one curve.
    """

    kind: Literal["bler"] = "bler"
    name: str = Field("bler", pattern=r"^[A-Za-z0-9_.-]+$")
    mcs: list[MCS] = Field(default_factory=lambda: [MCS()], min_length=1)
    ebno_db: EbNoRange | list[float] = EbNoRange(start=-4, stop=10, step=1)
    sweep: dict[str, list[Any]] = Field(default_factory=dict)
    batch_size: int = Field(64, ge=1, le=4096, description="slots per batch (x num_users blocks)")
    target_block_errors: int = Field(200, ge=1)
    max_blocks: int = Field(20_000, ge=1, description="per Eb/N0 point")
    min_bler: float = Field(
        1e-3, ge=0, le=1, description="stop a curve once BLER falls below this"
    )

    def ebno_values(self) -> list[float]:
        if isinstance(self.ebno_db, EbNoRange):
            return self.ebno_db.values()
        return sorted(float(v) for v in self.ebno_db)


class ImageExperiment(Strict):
    """What every image-transmission experiment shares: SNRs, sweep, test images and slots.

    Two experiments of a scenario with equal ``data``, ``split``,
    ``num_images``, ``data_seed`` and ``batch_size`` send the same images in
    the same slots over the same channel realisations at every common SNR
    (:func:`linksim.experiments.slots.realisation_seed`), which is what makes
    the semantic models and the SSCC baselines comparable point by point.
    ``snr_db`` is the SNR per resource element, 1 / N0 with the transmit
    power of ``precoder.power`` (see :mod:`linksim.phy.sinr`), not Eb/N0.
    """

    snr_db: EbNoRange | list[float] = EbNoRange(start=-7, stop=7, step=2)
    sweep: dict[str, list[Any]] = Field(default_factory=dict)
    data: str = Field("auto", min_length=1,
                      description="auto | keras | samples | a path (see linksim.data.load_images)")
    split: Literal["train", "test"] = "test"
    num_images: int = Field(256, ge=1, description="images sent per SNR point")
    image_size: int = Field(32, ge=8, le=1024, description="square image side in pixels "
                                                            "(CIFAR-10: 32; linksim.data.load_images)")
    data_seed: int = Field(0, ge=0, description="seed of the image subset selection")
    batch_size: int = Field(64, ge=1, le=4096,
                            description="slots per batch; each slot carries num_users images")

    def snr_values(self) -> list[float]:
        if isinstance(self.snr_db, EbNoRange):
            return self.snr_db.values()
        return sorted(float(v) for v in self.snr_db)


class SSCCExperiment(ImageExperiment):
    """Separate source-channel coding image transmission: PSNR vs SNR (seed 003 Fig. 8).

    Each image is compressed by a source codec with seed 003's rate control
    (eq. 10; the payload budget is the LDPC block's k minus the transport-block
    CRC), protected by the 5G CRC and LDPC, and sent as one user's codeword of
    one slot through the scenario's downlink; ``capacity`` adds the ideal bound
    (codec rate fitted to the slot's Shannon capacity, sent error-free). Every
    combination of ``sweep`` values, codec and MCS (or the bound) is one curve.
    """

    kind: Literal["sscc"] = "sscc"
    name: str = Field("sscc", pattern=r"^[A-Za-z0-9_.-]+$")
    codecs: list[str] = Field(default_factory=lambda: ["jpeg", "bpg"], min_length=1)
    mcs: list[MCS] = Field(
        default_factory=lambda: [MCS(qam=4, rate=0.5), MCS(qam=4, rate=2 / 3),
                                 MCS(qam=16, rate=0.5), MCS(qam=16, rate=2 / 3)],
        min_length=1)
    capacity: bool = Field(True, description="also run the capacity ideal bound")
    crc: Literal["auto", "CRC24A", "CRC24B", "CRC24C", "CRC16", "CRC11", "CRC6"] = Field(
        "auto", description="transport-block CRC inside the k LDPC info bits; auto: 38.212 "
                            "7.2.1 (CRC16 for payloads up to 3824 bits, else CRC24A)")

    @field_validator("codecs")
    @classmethod
    def _known_codecs(cls, names: list[str]) -> list[str]:
        return _known_keys(CODECS, names, "codecs")



class SemanticExperiment(ImageExperiment):
    """Trained models of a learned system on test images: PSNR, SSIM, MS-SSIM, accuracy vs SNR.

    ``system`` names the learned system (:data:`linksim.registry.SYSTEMS`; seed
    003's Figs. 9, 11, 12 by default). Each of ``models`` (the system's
    variants) is loaded
    from ``weights``, a directory pattern in which ``{scenario}`` and
    ``{model}`` are replaced by the scenario's name and the model key; it must
    hold ``best.weights.h5`` (or ``last.weights.h5``) and the ``state.json``
    that ``python -m linksim train`` writes, which gives the widths to build
    and the epochs and wall time trained (reported with every number). A
    relative pattern is looked up from the working directory, then from the
    scenario file's folder and its parents (where the committed ``models/``
    of the shipped scenarios are). ``baseline`` names an SSCC experiment of the same run (or a path to
    its CSV) whose best-MCS curve and capacity bound are drawn in the same
    figure. ``visual_snr_db``: SNRs of the reconstruction grid of the first
    model (the first slot's users, Fig. 12); empty for none. ``cdf_snr_db``:
    SNRs of the per-image distributions (seed 000 Fig. 12), first sweep point.
    """

    kind: Literal["semantic"] = "semantic"
    name: str = Field("semantic", pattern=r"^[A-Za-z0-9_.-]+$")
    system: str = Field("scenario_adaptive", description="learned system (linksim.registry.SYSTEMS)")
    models: list[str] = Field(default_factory=lambda: ["full", "no_pilot", "rzf", "djscc"],
                              min_length=1)
    weights: str = Field("runs/{scenario}/train_{model}", min_length=1)
    baseline: str | None = Field("sscc", description="SSCC experiment name or CSV path to overlay")
    visual_snr_db: list[float] = Field(default_factory=lambda: [-7.0, 3.0, 7.0])
    cdf_snr_db: list[float] = Field(
        default_factory=list,
        description="SNRs at which every model's per-image PSNR and MS-SSIM (and LPIPS where "
                    "LINKSIM_LPIPS_WEIGHTS names its weights) go to <name>_per_image.csv, "
                    "with their CDFs in <name>_cdf.png (seed 000 Fig. 12); empty for none")

    @field_validator("system")
    @classmethod
    def _known_system(cls, value: str) -> str:
        return _known_keys(SYSTEMS, [value], "system")[0]

    @field_validator("models")
    @classmethod
    def _known_models(cls, names: list[str], info: ValidationInfo) -> list[str]:
        system = info.data.get("system")
        return names if system is None else _known_keys(SYSTEMS[system].variants, names, "models")


Experiment = Annotated[Union[BLERExperiment, SSCCExperiment, SemanticExperiment],
                       Field(discriminator="kind")]


class RuntimeConfig(Strict):
    """How the simulation runs (not what it simulates)."""

    mode: Literal["xla", "graph", "eager"] = Field(
        "xla", description="compile the Monte-Carlo step with XLA, as a graph, or not at all"
    )


class SectionError(ValueError):
    """A section validated by a plug-in's own config class failed: carries that error for the loader.

    :func:`linksim.config.load.format_validation_error` unwraps it, so the
    one-line message names the key inside the section and the keys allowed
    there, as for any other section.
    """

    def __init__(self, error: ValidationError, model: type[BaseModel]) -> None:
        super().__init__(str(error).splitlines()[0])
        self.error, self.model = error, model


class SemanticConfig(HashStable):
    """What every learned system's ``semantic:`` section shares: which system and variant, how it trains.

    ``system`` is a key of :data:`linksim.registry.SYSTEMS`; the section is
    validated by that system's own config class (a subclass of this one that
    adds its architecture and loss fields, e.g.
    :class:`linksim.systems.scenario_adaptive.ScenarioAdaptiveConfig`), and
    ``model`` must be one of the system's variants. The fields here drive the
    generic trainer (:mod:`linksim.experiments.train`): data, schedule, and
    the channels and SNRs drawn during training (``train_channels`` are
    ``channel.model`` keys mixed, from an in-memory bank of ``bank_size``
    slots per model or generated online every batch).
    """

    system: str = Field("scenario_adaptive", description="learned system (linksim.registry.SYSTEMS)")
    model: str = Field("full", description="variant of the system (python -m linksim list)")
    image_size: int = Field(32, ge=8, le=1024, description="square image side in pixels that the "
                                                            "system codes (CIFAR-10: 32)")
    train_snr_db: tuple[float, float] = Field((-7.0, 7.0), description="SNR range, uniform per slot")
    train_channels: tuple[str, ...] = Field(("umi", "uma", "rma"), min_length=1)
    channel_source: Literal["bank", "online"] = "bank"
    bank_size: int = Field(1024, ge=1, description="slots per channel model in the bank")
    data: str = Field("auto", min_length=1,
                      description="training images: auto | keras | samples | a path "
                                  "(see linksim.data.load_images; its train split)")
    num_images: int | None = Field(None, ge=2, description="train-split images to use (None: all)")
    val_fraction: float = Field(0.05, gt=0, lt=1,
                                description="last share of the slots held out for validation")
    batch_size: int = Field(32, ge=1, le=4096, description="slots per batch (num_users images each)")
    epochs: int = Field(100, ge=1)
    learning_rate: float = Field(1e-3, gt=0, description="Adam step size")
    lr_drops: tuple[int, ...] = Field((), description="epochs after which the step size is "
                                                      "multiplied by lr_drop_factor (a resumed "
                                                      "run may add some)")
    lr_drop_factor: float = Field(0.1, gt=0, le=1, description="step-size factor at each lr_drops epoch")
    patience: int = Field(10, ge=1, description="early stopping: epochs without a better val loss")

    _added_keys = ("image_size",)  # never "system": a subclass may change its default

    @field_validator("system")
    @classmethod
    def _known_system(cls, value: str) -> str:
        return _known_keys(SYSTEMS, [value], "system")[0]

    @field_validator("model")
    @classmethod
    def _known_variant(cls, value: str, info: ValidationInfo) -> str:
        system = info.data.get("system")
        return value if system is None else _known_keys(SYSTEMS[system].variants, [value], "model")[0]

    @field_validator("lr_drops")
    @classmethod
    def _increasing_epochs(cls, epochs: tuple[int, ...]) -> tuple[int, ...]:
        if any(e < 1 for e in epochs) or list(epochs) != sorted(set(epochs)):
            raise ValueError(f"need increasing epoch counts >= 1, got {list(epochs)}")
        return epochs

    @field_validator("train_channels")
    @classmethod
    def _known_channels(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_registered(CHANNELS)(name) for name in names)

    @field_validator("train_snr_db")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[1] < value[0]:
            raise ValueError("train_snr_db must be (low, high)")
        return value

    def check_scenario(self, scenario: "Scenario") -> None:
        """Raise ValueError (one line naming the key) if ``scenario`` cannot carry this system.

        Called when a scenario is validated, so a mismatch between the
        section and the link (e.g. seed 002's N_T against ``bs.array``) is a
        one-line config error at load time. The base accepts any scenario.
        """

    @classmethod
    def resolve(cls, value: Any) -> "SemanticConfig":
        """A ``semantic:`` mapping validated by its system's config class (:class:`SectionError` if bad)."""
        if isinstance(value, SemanticConfig):
            return value
        if not isinstance(value, dict):
            raise ValueError("must be a mapping of keys")
        if not value and not len(SYSTEMS):  # config used without the systems layer (BLER, SSCC)
            return SemanticConfig.model_construct()
        name = value.get("system", cls.model_fields["system"].default)
        config = SYSTEMS[_known_keys(SYSTEMS, [name], "system")[0]].config
        try:
            return config.model_validate(value)
        except ValidationError as err:
            raise SectionError(err, config) from None


class P2PConfig(Strict):
    """Point-to-point MIMO link (``link: p2p_mimo``, :mod:`linksim.phy.p2p`): SVD streams."""

    num_streams: int | None = Field(
        None, ge=1, description="spatial streams (<= min(N_T, N_R)); None: min(N_T, N_R)")
    power_allocation: Literal["equal", "waterfilling"] = Field(
        "equal", description="power over the streams per channel use: equal, or water-filling "
                             "on the singular values")


class HybridConfig(Strict):
    """Hybrid analog-digital uplink of seed 001 (``link: mu_mimo_uplink``; Wu & Gao, Sec. II, IV-B).

    Each of ``ue.num_users`` UEs has an N_t = ``ue.array.num_ant`` antenna ULA
    behind ``num_rf_ue`` RF chains (N_RF,t), the BS an N_r = ``bs.array.num_ant``
    ULA behind ``num_rf_bs`` (N_RF,r); analog precoders/combiners are phase
    shifters (:mod:`linksim.phy.hybrid`). A frame is ``csi_rs_symbols`` (L)
    downlink CSI-RS OFDM symbols, then ``num_tx_symbols`` (Q) uplink data
    symbols (OFDM symbols 0..L-1 and L..L+Q-1 of the grid, so the channel ages
    by Doppler between them); each UE feeds back ``feedback_bits`` (B), i.e.
    B / ``quantizer_bits`` features of ``quantizer_bits`` bits (paper: 2-bit
    uniform quantiser, footnote 5). UE speeds are drawn per UE and frame,
    uniform in ``speed_kmh`` (paper: 0-120 km/h); on this link they replace
    ``channel.min_ut_velocity``/``max_ut_velocity``.
    """

    num_rf_ue: int = Field(2, ge=1, le=64, description="RF chains per UE, N_RF,t (paper: 2)")
    num_rf_bs: int = Field(2, ge=1, le=64, description="RF chains at the BS, N_RF,r (paper: 2)")
    feedback_bits: int = Field(1024, ge=1, le=65536,
                               description="feedback bits B per UE (paper: 1024; Fig. 9: 16..1024)")
    quantizer_bits: int = Field(2, ge=1, le=16,
                                description="bits per fed-back feature (paper: 2, footnote 5)")
    csi_rs_symbols: int = Field(8, ge=1, le=27, description="CSI-RS OFDM symbols L (paper: 8)")
    num_tx_symbols: int = Field(4, ge=1, le=27, description="uplink data OFDM symbols Q (paper: 4)")
    speed_kmh: tuple[float, float] = Field(
        (0.0, 120.0), description="UE speed ~ U[low, high] km/h per UE and frame (paper: 0-120)")

    @field_validator("speed_kmh")
    @classmethod
    def _speed_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= value[0] <= value[1]:
            raise ValueError("need (low, high) km/h with 0 <= low <= high (a speed is not negative)")
        return value

    @model_validator(mode="after")
    def _whole_features(self) -> "HybridConfig":
        if self.feedback_bits % self.quantizer_bits:
            raise ValueError(f"feedback_bits ({self.feedback_bits}) must be a multiple of "
                             f"quantizer_bits ({self.quantizer_bits}): whole fed-back features")
        return self

    @property
    def num_frame_symbols(self) -> int:
        """L + Q: OFDM symbols of one frame (CSI-RS, then data)."""
        return self.csi_rs_symbols + self.num_tx_symbols

    @property
    def speed_range_ms(self) -> tuple[float, float]:
        """``speed_kmh`` in m/s."""
        return (self.speed_kmh[0] / 3.6, self.speed_kmh[1] / 3.6)


class Scenario(HashStable):
    """One simulation scenario: system parameters plus the experiments to run.

    ``link`` picks the link type: ``mu_mimo_downlink`` (the BS serves
    ``ue.num_users`` single-antenna UEs, one stream each, seed 003),
    ``p2p_mimo`` (one BS with N_T antennas to one UE with N_R antennas, SVD
    precoding and detection, seed 002; ``p2p`` section) or ``mu_mimo_uplink``
    (``ue.num_users`` multi-antenna UEs to the BS through hybrid arrays, seed
    001; ``hybrid`` section, an uplink channel model).
    """

    name: str = Field("scenario", pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    seed: int = Field(42, ge=0, description="makes a run reproducible bit for bit")
    link: Literal["mu_mimo_downlink", "p2p_mimo", "mu_mimo_uplink"] = "mu_mimo_downlink"
    ofdm: OFDMConfig = OFDMConfig()
    channel: ChannelConfig = ChannelConfig()
    bs: BSConfig = BSConfig()
    ue: UEConfig = UEConfig()
    precoder: PrecoderConfig = PrecoderConfig()
    p2p: P2PConfig = P2PConfig()
    hybrid: HybridConfig = HybridConfig()
    receiver: ReceiverConfig = ReceiverConfig()
    sounding: SoundingConfig = SoundingConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    semantic: SerializeAsAny[SemanticConfig] = Field(
        default_factory=lambda: SemanticConfig.resolve({}),
        description="the learned system trained and evaluated (its own config class)")
    experiments: list[Experiment] = Field(default_factory=list)
    _origin: Path | None = PrivateAttr(None)

    @property
    def origin(self) -> Path | None:
        """The YAML file this scenario was loaded from (None if built in code); kept by copies."""
        return self._origin

    def from_file(self, path: Path | None) -> "Scenario":
        """Record ``path`` as :attr:`origin` (relative weights are looked up from it); returns self."""
        self._origin = None if path is None else Path(path)
        return self

    @field_validator("semantic", mode="before")
    @classmethod
    def _system_section(cls, value: Any) -> SemanticConfig:
        return SemanticConfig.resolve(value)

    _added_keys = ("link", "p2p", "sounding", "hybrid")

    @model_validator(mode="after")
    def _streams_fit(self) -> "Scenario":
        n_r, n_t = self.ue.array.num_ant, self.bs.array.num_ant
        if self.link == "mu_mimo_downlink" and n_r != 1:
            raise ValueError(
                f"ue.array has {n_r} antennas: link: mu_mimo_downlink (one stream per user) "
                f"needs 1 antenna per UE; use link: p2p_mimo for multi-antenna receivers")
        if self.link == "p2p_mimo":
            if self.ue.num_users != 1:
                raise ValueError(f"ue.num_users ({self.ue.num_users}) must be 1 for "
                                 f"link: p2p_mimo (one transmitter, one receiver)")
            streams = self.p2p.num_streams
            if streams is not None and streams > min(n_t, n_r):
                raise ValueError(f"p2p.num_streams ({streams}) exceeds min(N_T, N_R) = "
                                 f"min({n_t}, {n_r}) (bs.array, ue.array antennas)")
        direction = getattr(CHANNELS[self.channel.model], "direction", "downlink")
        if (self.link == "mu_mimo_uplink") != (direction == "uplink"):
            raise ValueError(
                f"channel.model {self.channel.model!r} is a{'n' if direction == 'uplink' else ''} "
                f"{direction} channel and link is {self.link!r}; link: mu_mimo_uplink takes "
                f"exactly the uplink models ({', '.join(uplink_channels())})")
        if self.link == "mu_mimo_uplink":
            self._check_hybrid_uplink()
        if self.ue.num_users > self.bs.array.num_ant:
            raise ValueError(
                f"ue.num_users ({self.ue.num_users}) exceeds the BS antennas "
                f"({self.bs.array.num_ant}): linear precoding needs num_users <= num_ant"
            )
        if self.ofdm.fft_size % self.ue.num_users:
            raise ValueError(
                f"ofdm.fft_size ({self.ofdm.fft_size}) must be a multiple of ue.num_users "
                f"({self.ue.num_users}) for orthogonal Kronecker pilots"
            )
        if isinstance(self.semantic, SemanticConfig):
            self.semantic.check_scenario(self)
        if self.channel.model == "sparse_multipath" and self.bs.array.polarization != "single":
            raise ValueError(
                "bs.array.polarization: channel.model sparse_multipath needs a single-polarised "
                f"BS UPA (num_rows x num_cols = {self.bs.array.num_rows} x "
                f"{self.bs.array.num_cols} antennas), got 'dual'")
        return self

    def _check_hybrid_uplink(self) -> None:
        """``link: mu_mimo_uplink``: RF chains fit the arrays, the frame fits the grid, one speed source."""
        hy, n_t, n_r = self.hybrid, self.ue.array.num_ant, self.bs.array.num_ant
        if hy.num_rf_ue > n_t:
            raise ValueError(f"hybrid.num_rf_ue ({hy.num_rf_ue}) exceeds the UE antennas N_t = "
                             f"ue.array.num_ant ({n_t}): N_RF,t <= N_t")
        if hy.num_rf_bs > n_r:
            raise ValueError(f"hybrid.num_rf_bs ({hy.num_rf_bs}) exceeds the BS antennas N_r = "
                             f"bs.array.num_ant ({n_r}): N_RF,r <= N_r")
        if hy.num_frame_symbols > self.ofdm.num_ofdm_symbols:
            raise ValueError(f"hybrid.csi_rs_symbols + hybrid.num_tx_symbols ({hy.csi_rs_symbols} "
                             f"+ {hy.num_tx_symbols}) exceeds ofdm.num_ofdm_symbols "
                             f"({self.ofdm.num_ofdm_symbols}): one frame is L CSI-RS then Q data "
                             f"symbols of the grid")
        for key in ("min_ut_velocity", "max_ut_velocity"):
            if getattr(self.channel, key) is not None:
                raise ValueError(f"channel.{key}: link mu_mimo_uplink draws UE speeds from "
                                 f"hybrid.speed_kmh; leave channel.{key} unset")
        if self.channel.model == "sparse_multipath_uplink":
            for side, array in (("ue", self.ue.array), ("bs", self.bs.array)):
                if array.num_rows != 1 or array.polarization != "single":
                    raise ValueError(
                        f"{side}.array: channel.model sparse_multipath_uplink needs a "
                        f"single-polarised ULA (num_rows 1, num_cols N), got {array.num_rows} x "
                        f"{array.num_cols} {array.polarization}")


def uplink_channels() -> list[str]:
    """``channel.model`` keys of uplink channels (factories with ``direction = "uplink"``)."""
    return [name for name in CHANNELS if getattr(CHANNELS[name], "direction", "") == "uplink"]
