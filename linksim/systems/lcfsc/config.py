"""The ``semantic:`` section of seed 002's LCFSC system: link sizes, CBR, Swin widths, NI-CFMA, R-CVAE, NPN, loss."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from linksim.config.schema import SemanticConfig
from linksim.systems.base import arch_field

if TYPE_CHECKING:
    from linksim.config import Scenario

MASK_RATIOS = (0.001, 0.003, 0.005, 0.007, 0.009, 0.012, 0.014, 0.015)
"""The paper's preset mask ratio vector M̄ (Sec. V-A)."""


class LCFSCConfig(SemanticConfig):
    """Seed 002 (Xie et al., LCFSC) over ``link: p2p_mimo``.

    **Rate.** The channel bandwidth ratio R = C_L / (3 H W) counts real
    values (the paper's definition); C_L / 2 complex symbols ride N_s SVD
    streams (``p2p.num_streams``, default min(N_T, N_R)) over
    :meth:`channel_uses` channel uses, U = floor(C_L / (2 N_s)): at
    R = 0.06 on CIFAR-10 (C_L = 184) that is 46 uses of 2 streams at 2 x 2,
    23 x 4 at 4 x 4, 11 x 8 at 8 x 8 (88 of the 92 symbols) and 5 x 16 at
    16 x 16 (80 symbols: R = 0.052). :meth:`actual_cbr` is what is sent.

    **Widths.** The defaults are sized for 2 CPU cores (a CIFAR-10 epoch
    within 30 minutes at 2 x 2, :mod:`~linksim.systems.lcfsc.throughput`);
    :data:`PAPER_WIDTHS` are Swin-T/WITT-like widths assumed for the cost
    estimate (the paper gives the depths {2, 2, 6, 2} and M̄ only). On 32 x 32
    images the four stages work at 16, 8, 4 and 2 tokens a side, so the
    third stage (NI-CFMA) attends over one 4 x 4 window of D = 16 tokens and
    masks round(m D^2) of its 256 logits per head: 0 to 4 over M̄ (the paper's
    128 x 128 images: 64-token windows, 4 to 61 of 4096).

    Every field made with :func:`~linksim.systems.base.arch_field` is
    architecture: a trained model is rebuilt with it (``state.json`` records it).
    """

    system: str = "lcfsc"
    model: str = "lcfsc"
    batch_size: int = Field(16, ge=1, le=4096, description="images per batch (the paper: 16)")
    train_snr_db: tuple[float, float] = Field((0.0, 20.0), description="SNR range, uniform per slot")
    train_channels: tuple[str, ...] = Field(("rayleigh", "umi"), min_length=1)
    bank_size: int = Field(4096, ge=1, description="N_R x N_T matrices per channel model in the bank")
    learning_rate: float = Field(3e-4, gt=0, description="Adam step size (the paper: 1e-4 -> 2e-5; "
                                                         "1e-3 left the 4-stage codec at 13.9 dB "
                                                         "after 300 steps on 32 images, 3e-4 at 19.3)")
    num_tx_ant: int = arch_field(2, shapes_weights=True, label="{}tx", ge=1, le=256,
                                 description="N_T (= bs.array antennas)")
    num_rx_ant: int = arch_field(2, shapes_weights=True, label="{}rx", ge=1, le=256,
                                 description="N_R (= ue.array antennas)")
    cbr: float = arch_field(0.06, shapes_weights=True, label="R={}", gt=0, le=1,
                            description="channel bandwidth ratio C_L / (3 H W), real values")
    patch_size: int = arch_field(2, shapes_weights=True, ge=1, le=16,
                                 description="Swin patch side (pixels)")
    window_size: int = arch_field(4, shapes_weights=True, ge=1, le=32,
                                  description="Swin window side (tokens)")
    embed_dims: tuple[int, ...] = arch_field((16, 32, 48, 64), shapes_weights=True,
                                             label="dims={}", description="Swin channels per stage")
    depths: tuple[int, ...] = arch_field((2, 2, 6, 2), shapes_weights=True, label="depths={}",
                                         description="Swin blocks per stage (the paper's {2, 2, 6, 2})")
    heads: tuple[int, ...] = arch_field((2, 2, 4, 4), shapes_weights=True,
                                        description="attention heads per Swin stage")
    mlp_ratio: float = arch_field(2.0, shapes_weights=True, gt=0, le=8,
                                  description="MLP width / channels in every Swin block")
    cfma_stage: int = arch_field(2, shapes_weights=True, ge=0,
                                 description="0-based Swin encoder stage whose odd blocks use "
                                             "NI-CFMA (the paper: the third)")
    mask_dim: int = arch_field(8, shapes_weights=True, ge=1,
                               description="width of the CSI fusion masking model (GRN, CSI link)")
    csi_dim: int = arch_field(16, shapes_weights=True, ge=1,
                              description="CSI feature width of the CNN CSI link")
    mask_ratios: tuple[float, ...] = arch_field(MASK_RATIOS, shapes_weights=True,
                                                description="the preset mask ratio vector M̄")
    fixed_mask_ratio: float = arch_field(0.009, shapes_weights=False, label="m={}", ge=0, lt=1,
                                         description="the stable m: CFSC's ratio (model "
                                                     "fixed_ratio, pre-training) and the R-CVAE's "
                                                     "condition (the paper's CFSC m = 0.009)")
    cvae_latent: int = arch_field(16, shapes_weights=True, ge=1,
                                  description="L: R-CVAE latent size")
    cvae_width: int = arch_field(64, shapes_weights=True, ge=1,
                                 description="hidden width of the R-CVAE networks")
    cvae_weight: float = arch_field(0.01, shapes_weights=False, ge=0,
                                    description="λ of eq. 24 (L_2 = L_1 + λ L_c)")
    modnet_layers: int = arch_field(2, shapes_weights=True, ge=1, le=8,
                                    description="SNR-adaptive gates of each Channel ModNet")
    adjscc_width: int = arch_field(32, shapes_weights=True, ge=1,
                                   description="ADJSCC: convolution channels")
    csi: Literal["perfect", "ls", "npn"] = arch_field(
        "npn", shapes_weights=True, label="csi={}",
        description="the CSI both ends use: perfect, or estimated from N_T pilots by LS or the "
                    "NPN (linksim.registry.P2P_ESTIMATORS)")
    npn_width: int = arch_field(16, shapes_weights=True, ge=1, description="NPN U-Net width")
    npn_basis: int = arch_field(4, shapes_weights=True, ge=1,
                                description="NPN subspace attention basis vectors K")
    npn_weight: float = arch_field(1.0, shapes_weights=False, ge=0,
                                   description="weight of the NPN's estimation MSE in the loss")
    loss: Literal["ms_ssim", "mse"] = arch_field(
        "ms_ssim", shapes_weights=False, label="loss={}",
        description="L_1: 1 - MS-SSIM (3 scales, valid on 32 x 32; linksim.nn.losses) + MSE (which "
                    "keeps a gradient where MS-SSIM's clamped terms have none), or MSE")
    pretrain_epochs: int = Field(5, ge=1, description="epochs of stage 'pretrain' (NPN by "
                                                      "Algorithm 1, codec with the stable m)")

    @model_validator(mode="after")
    def _consistent(self) -> "LCFSCConfig":
        if not len(self.embed_dims) == len(self.depths) == len(self.heads):
            raise ValueError(f"embed_dims {list(self.embed_dims)}, depths {list(self.depths)} and "
                             f"heads {list(self.heads)} need one entry per Swin stage")
        bad = [(d, h) for d, h in zip(self.embed_dims, self.heads) if d % h]
        if bad:
            raise ValueError(f"embed_dims must be multiples of the heads: {bad}")
        if self.cfma_stage >= len(self.depths):
            raise ValueError(f"cfma_stage {self.cfma_stage}: the encoder has {len(self.depths)} stages")
        if self.image_size % (self.patch_size * 2 ** (len(self.depths) - 1)):
            raise ValueError(f"image_size {self.image_size} does not tile into patches of "
                             f"{self.patch_size} and {len(self.depths)} stages")
        if sorted(self.mask_ratios) != list(self.mask_ratios) or len(self.mask_ratios) < 2:
            raise ValueError("mask_ratios must be at least 2 increasing values")
        return self

    @property
    def real_values(self) -> int:
        """C_L = floor(R 3 H W): real values per image at the nominal CBR."""
        return math.floor(self.cbr * 3 * self.image_size ** 2 + 1e-9)

    def channel_uses(self, streams: int) -> int:
        """U = floor(C_L / (2 N_s)): channel uses per image (0: the CBR leaves no symbols)."""
        return self.real_values // (2 * streams)

    def actual_cbr(self, streams: int) -> float:
        """2 U N_s / (3 H W): the CBR actually sent."""
        return 2 * self.channel_uses(streams) * streams / (3 * self.image_size ** 2)

    def check_scenario(self, scenario: "Scenario") -> None:
        """N_T, N_R must be the link's arrays and the CBR must leave at least one channel use."""
        if scenario.link != "p2p_mimo":
            raise ValueError(f"semantic.system: lcfsc runs over link: p2p_mimo, the scenario has "
                             f"link: {scenario.link}")
        n_t, n_r = scenario.bs.array.num_ant, scenario.ue.array.num_ant
        if self.num_tx_ant != n_t:
            raise ValueError(f"semantic.num_tx_ant: {self.num_tx_ant} -- the channel provides "
                             f"N_T = {n_t} (bs.array antennas)")
        if self.num_rx_ant != n_r:
            raise ValueError(f"semantic.num_rx_ant: {self.num_rx_ant} -- the channel provides "
                             f"N_R = {n_r} (ue.array antennas)")
        streams = scenario.p2p.num_streams or min(n_t, n_r)
        if self.channel_uses(streams) < 1:
            raise ValueError(f"semantic.cbr: {self.cbr:g} -- leaves no symbols: C_L = "
                             f"{self.real_values} real values for {streams} streams need at "
                             f"least {2 * streams} (cbr >= {2 * streams / (3 * self.image_size ** 2):.4f})")


PAPER_WIDTHS = {"embed_dims": (128, 192, 256, 320), "depths": (2, 2, 6, 2), "heads": (4, 6, 8, 10),
                "window_size": 8, "patch_size": 2, "mlp_ratio": 4.0, "image_size": 128,
                "mask_dim": 32, "csi_dim": 64, "cvae_latent": 64, "cvae_width": 256,
                "adjscc_width": 256, "npn_width": 32}
"""Widths assumed for the paper's model (128 x 128 UDIS-D images; the paper gives the depths and
M̄; the Swin channels are WITT's on 128 x 128 images, the others guessed)."""

QUICK = {"embed_dims": (8, 8, 16, 16), "depths": (1, 1, 2, 1), "heads": (1, 1, 2, 2),
         "mask_dim": 4, "csi_dim": 4, "cvae_latent": 4, "cvae_width": 8, "adjscc_width": 8,
         "npn_width": 4, "modnet_layers": 1, "pretrain_epochs": 1, "bank_size": 64}
"""Smoke-test widths of ``linksim train --quick`` and ``run --quick``."""


def quick(cfg: LCFSCConfig) -> LCFSCConfig:
    """A narrow copy for smoke tests (:data:`QUICK`)."""
    return LCFSCConfig.model_validate({**cfg.model_dump(), **QUICK})
