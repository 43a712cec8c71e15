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
from typing import Annotated, Any, Literal, Union

from pydantic import (BaseModel, ConfigDict, Field, ValidationInfo, field_validator,
                      model_validator)

from linksim.registry import (CHANNELS, CODECS, EQUALIZERS, ESTIMATORS, PRECODERS, Registry)


class Strict(BaseModel):
    """Base: unknown keys are errors, objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
    """User equipments: ``num_users`` single-antenna UEs, one stream each."""

    num_users: int = Field(4, ge=1, le=64)
    array: ArrayConfig = ArrayConfig()

    @field_validator("array")
    @classmethod
    def _single_antenna(cls, array: ArrayConfig) -> ArrayConfig:
        if array.num_ant != 1:
            raise ValueError("UEs must have exactly 1 antenna (one stream per user)")
        return array


class ChannelConfig(Strict):
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

    _check_model = field_validator("model")(_registered(CHANNELS))


class PrecoderConfig(Strict):
    """Downlink precoder at the BS (from the true channel, seed 003's assumption)."""

    name: str = "rzf"
    alpha: float | None = Field(
        None, ge=0, description="RZF regulariser; None: the noise variance"
    )
    power: Literal["per_antenna", "total"] = Field(
        "per_antenna",
        description="per_antenna: E|x|^2 = 1 on every BS antenna and RE (seed 003's "
        "E[|X|^2] <= P, total num_bs_ant); total: the antennas share power 1 per RE",
    )

    _check_name = field_validator("name")(_registered(PRECODERS))


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
    """Trained seed-003 semantic models on test images: PSNR, SSIM, MS-SSIM, accuracy vs SNR (Figs. 9, 11, 12).

    Each of ``models`` (``linksim.semantic.SEMANTIC_MODELS`` keys) is loaded
    from ``weights``, a directory pattern in which ``{scenario}`` and
    ``{model}`` are replaced by the scenario's name and the model key; it must
    hold ``best.weights.h5`` (or ``last.weights.h5``) and the ``state.json``
    that ``python -m linksim train`` writes, which gives the widths to build
    and the epochs and wall time trained (reported with every number). A
    relative pattern is looked up from the working directory, then from the
    linksim source tree (where the committed weights of the shipped scenarios
    are). ``baseline`` names an SSCC experiment of the same run (or a path to
    its CSV) whose best-MCS curve and capacity bound are drawn in the same
    figure. ``visual_snr_db``: SNRs of the reconstruction grid of the first
    model (the first slot's users, Fig. 12); empty for none.
    """

    kind: Literal["semantic"] = "semantic"
    name: str = Field("semantic", pattern=r"^[A-Za-z0-9_.-]+$")
    models: list[str] = Field(default_factory=lambda: ["full", "no_pilot", "rzf", "djscc"],
                              min_length=1)
    weights: str = Field("runs/{scenario}/train_{model}", min_length=1)
    baseline: str | None = Field("sscc", description="SSCC experiment name or CSV path to overlay")
    visual_snr_db: list[float] = Field(default_factory=lambda: [-7.0, 3.0, 7.0])

    @field_validator("models")
    @classmethod
    def _known_models(cls, names: list[str]) -> list[str]:
        from linksim.semantic import SEMANTIC_MODELS  # late import: Keras and TensorFlow

        return _known_keys(SEMANTIC_MODELS, names, "models")


Experiment = Annotated[Union[BLERExperiment, SSCCExperiment, SemanticExperiment],
                       Field(discriminator="kind")]


class RuntimeConfig(Strict):
    """How the simulation runs (not what it simulates)."""

    mode: Literal["xla", "graph", "eager"] = Field(
        "xla", description="compile the Monte-Carlo step with XLA, as a graph, or not at all"
    )
    precision: Literal["single", "double"] = "single"


class SemanticConfig(Strict):
    """Seed-003 semantic system: which variant, its size, and how its training draws channels.

    ``model`` is a key of ``linksim.semantic.SEMANTIC_MODELS``. ``encoder_width``
    scales the BS encoder's residual trunk, the dominant training cost on a CPU
    (1.0: the paper's encoder, 10.1 M weights at N_f = 128; 0.5 trains about
    twice as fast). ``train_channels`` are ``linksim.phy.CHANNELS`` keys mixed
    during training, from an in-memory bank of ``bank_size`` slots per model
    or generated online every batch. The remaining fields drive
    ``python -m linksim train`` (:mod:`linksim.experiments.train`).
    """

    model: str = "full"
    encoder_width: float = Field(1.0, gt=0, le=4)
    decoder_width: float = Field(1.0, gt=0, le=4)
    latent: Literal["dense", "conv"] = Field(
        "dense", description="encoder latent layer: the paper's Conv+Dense, or a Conv laid on the "
                             "grid in the decoder's order (linksim.semantic.encoder)")
    decoder_blocks: int = Field(
        0, ge=0, le=8, description="residual blocks at 8x8 in the UE decoder (0: the paper; "
                                   "linksim.semantic.decoder)")
    decoder_snr: bool = Field(False, description="the UE decoder is told its SNR (False: the paper; "
                                                 "linksim.semantic.decoder)")
    decoder_conv: bool = Field(False, description="full 3x3 convolutions in the UE decoder's restoration "
                                                  "head instead of depthwise-separable ones (False: the "
                                                  "paper; linksim.semantic.decoder)")
    pixel_path: bool = Field(False, description="a learned linear path from 4x4 pixel blocks into the "
                                                "latent and from the UE decoder's 8x8 features to "
                                                "4x4 pixel blocks (False: the paper; latent: conv "
                                                "only; linksim.semantic.encoder)")
    csi_error: float = Field(
        0.0, ge=0, le=1, description="normalised error of the BS's channel knowledge: it sees "
                                     "sqrt(1-e) H + sqrt(e) H', H' an independent realisation "
                                     "(0: perfect CSI, the paper; linksim.semantic.system)")
    ue_gain: Literal["agc", "pilot_ls"] = Field(
        "agc", description="UE level control before decoding: unit received power, or division by "
                           "the gain LS-estimated from the user's precoded pilots "
                           "(linksim.semantic.system)")
    ce_weight: float = Field(0.001, ge=0, description="lambda in the loss MSE + lambda CE")
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

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        from linksim.semantic import SEMANTIC_MODELS  # late import: Keras and TensorFlow

        return _known_keys(SEMANTIC_MODELS, [value], "model")[0]

    @field_validator("pixel_path")
    @classmethod
    def _pixel_path_needs_conv_latent(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("latent") != "conv":
            raise ValueError("needs latent: conv (the path adds to the latent's 8x8 positions)")
        return value

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


class Scenario(Strict):
    """One simulation scenario: system parameters plus the experiments to run."""

    name: str = Field("scenario", pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    seed: int = Field(42, ge=0, description="makes a run reproducible bit for bit")
    ofdm: OFDMConfig = OFDMConfig()
    channel: ChannelConfig = ChannelConfig()
    bs: BSConfig = BSConfig()
    ue: UEConfig = UEConfig()
    precoder: PrecoderConfig = PrecoderConfig()
    receiver: ReceiverConfig = ReceiverConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    semantic: SemanticConfig = SemanticConfig()
    experiments: list[Experiment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _streams_fit(self) -> "Scenario":
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
        return self
