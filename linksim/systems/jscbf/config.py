"""The ``semantic:`` section of seed 000's JSCBF system: architecture, CSI and loss on top of the shared training keys."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from linksim.config.schema import SemanticConfig
from linksim.systems.base import arch_field


class JSCBFConfig(SemanticConfig):
    """Seed 000 (Wu et al., deep JSCBF): widths of its networks, unfolded WMMSE, Q, CSI and loss.

    **Data and channel-use ratio on this machine.** The paper codes
    3 x 256 x 256 ImageNet images into N_c = 64 subcarriers x Q = 128 OFDM
    symbols per user: 8192 complex symbols for 196608 pixel values (1/24).
    Here the images are CIFAR-10 32 x 32 (3072 values), so the same ratio is
    N_c = 64 x Q = 2 OFDM symbols per image (128 complex symbols): set
    ``ofdm.fft_size: 64`` and keep ``num_symbols: 2`` (the scenario's grid
    must have at least Q OFDM symbols; the model sends on the first Q).

    **Widths.** The defaults are sized for a 2-core CPU (a CIFAR-10 epoch in
    well under 30 min, ``linksim.systems.jscbf.throughput``), not the paper's
    (which it does not fully give; ``paper_widths`` holds the Swin/WITT-style
    widths assumed for its cost estimate). Two Swin stages: patch
    ``patch_size`` -> ``embed_dims[0]`` at 16 x 16, patch merging ->
    ``embed_dims[1]`` at 8 x 8, ``depths``/``heads`` per stage, windows of
    ``window_size``; the decoder mirrors it with patch splitting. Every
    transformer over the N_c subcarriers (CSI extractor, fusion, data-driven
    beamformer, WMMSE parameter network) has ``d_model``, ``transformer_depth``
    (U) layers and ``transformer_heads``.

    Every field made with :func:`~linksim.systems.base.arch_field` is
    architecture: a trained model is rebuilt with it (``state.json`` records it).
    """

    system: str = "jscbf"
    model: str = "jscbf"
    batch_size: int = Field(16, ge=1, le=4096, description="slots per batch, K images each (the "
                                                          "paper: 16)")
    num_symbols: int = arch_field(2, shapes_weights=True, label="Q={}", ge=1, le=128,
                                  description="Q: OFDM symbols per image (latent N_c x Q complex "
                                              "per user; 2 keeps the paper's 1/24 ratio on "
                                              "CIFAR-10 at N_c = 64)")
    num_tx_ant: int = arch_field(64, shapes_weights=True, label="Nt={}", ge=1, le=4096,
                                 description="N_t: BS antennas (= bs.array rows x cols)")
    upa: tuple[int, int] = arch_field((8, 8), shapes_weights=False, label="upa={}",
                                      description="BS UPA (N_y, N_z) = (bs.array.num_cols, num_rows); "
                                                  "N_y N_z = num_tx_ant")
    patch_size: int = arch_field(2, shapes_weights=True, ge=1, le=16,
                                 description="Swin patch side N (pixels)")
    window_size: int = arch_field(4, shapes_weights=True, ge=1, le=32,
                                  description="Swin window side M (tokens)")
    embed_dims: tuple[int, ...] = arch_field((32, 64), shapes_weights=True, label="dims={}",
                                             description="Swin channels per stage (paper-like: 128, 256)")
    depths: tuple[int, ...] = arch_field((2, 2), shapes_weights=True, label="depths={}",
                                         description="Swin blocks per stage")
    heads: tuple[int, ...] = arch_field((2, 4), shapes_weights=True,
                                        description="attention heads per Swin stage")
    mlp_ratio: float = arch_field(2.0, shapes_weights=True, gt=0, le=8,
                                  description="MLP width / channels in every transformer block "
                                              "(Swin and ViT default: 4)")
    image_dim: int = arch_field(64, shapes_weights=True, ge=1,
                                description="image semantic features per subcarrier (paper: 256)")
    csi_dim: int = arch_field(32, shapes_weights=True, ge=1,
                              description="per-user CSI compression and CSI semantic features per "
                                          "subcarrier (paper: 64)")
    d_model: int = arch_field(64, shapes_weights=True, ge=1,
                              description="width of the transformers over subcarriers")
    transformer_depth: int = arch_field(1, shapes_weights=True, ge=1, le=24,
                                        description="U: layers of each transformer over subcarriers")
    transformer_heads: int = arch_field(4, shapes_weights=True, ge=1,
                                        description="attention heads of those transformers")
    wmmse_layers: int = arch_field(3, shapes_weights=True, label="I1={}", ge=1, le=50,
                                   description="unfolded WMMSE layers (Algorithm 1's I_1)")
    bs_csi: Literal["perfect", "estimated"] = arch_field(
        "estimated", shapes_weights=False, label="csi={}",
        description="the BS's channel: perfect, or estimated from sounding.num_pilots pilot "
                    "OFDM symbols with the scenario's sounding.estimator (ls, lmmse, omp: "
                    "linksim.phy.sounding; the paper: GMMV-LAMP), the same section and "
                    "estimators as `linksim sounding` measures")
    loss: Literal["mse", "mse+ms_ssim"] = arch_field(
        "mse", shapes_weights=False, label="loss={}",
        description="MSE, or MSE + ms_ssim_weight (1 - MS-SSIM) (the paper adds LPIPS, which "
                    "needs a pre-trained VGG-16 not available offline)")
    ms_ssim_weight: float = arch_field(0.01, shapes_weights=False, ge=0,
                                       description="weight of (1 - MS-SSIM) in loss mse+ms_ssim")
    pretrain_epochs: int = Field(10, ge=1, description="epochs of stage 'pretrain' (image codec without "
                                                "the channel); 'joint' trains for epochs")

    @model_validator(mode="after")
    def _consistent(self) -> "JSCBFConfig":
        if self.upa[0] * self.upa[1] != self.num_tx_ant:
            raise ValueError(f"upa {list(self.upa)} has {self.upa[0] * self.upa[1]} antennas, "
                             f"num_tx_ant is {self.num_tx_ant}")
        if not len(self.embed_dims) == len(self.depths) == len(self.heads):
            raise ValueError(f"embed_dims {list(self.embed_dims)}, depths {list(self.depths)} and "
                             f"heads {list(self.heads)} need one entry per Swin stage")
        bad = [(d, h) for d, h in zip(self.embed_dims, self.heads) if d % h]
        if bad or self.d_model % self.transformer_heads:
            raise ValueError(f"channels must be multiples of the heads: embed_dims/heads "
                             f"{bad or ''} d_model/transformer_heads "
                             f"{self.d_model}/{self.transformer_heads}")
        side = self.image_size // self.patch_size
        bottom = side // 2 ** (len(self.embed_dims) - 1)
        if self.image_size % self.patch_size or side % 2 ** (len(self.embed_dims) - 1) or \
                bottom % min(self.window_size, bottom):
            raise ValueError(f"image_size {self.image_size} does not tile into patches of "
                             f"{self.patch_size}, {len(self.embed_dims)} stages and windows of "
                             f"{self.window_size}")
        return self

    @property
    def bottleneck(self) -> int:
        """Side of the encoder's last feature map (8 for CIFAR-10 with the defaults)."""
        return self.image_size // self.patch_size // 2 ** (len(self.embed_dims) - 1)


PAPER_WIDTHS = {"embed_dims": (128, 256, 256, 256), "depths": (2, 2, 6, 2), "heads": (4, 8, 8, 8),
                "window_size": 8, "patch_size": 2, "mlp_ratio": 4.0, "image_dim": 256,
                "csi_dim": 64, "d_model": 256, "transformer_depth": 4, "transformer_heads": 8,
                "image_size": 256, "num_symbols": 128}
"""Widths assumed for the paper's model (its text gives N_c x 256 image features, N_c x 64 CSI
features, Q = 128; the Swin stages and transformer sizes are WITT's/Swin-T-like assumptions)."""

QUICK = {"embed_dims": (16, 32), "heads": (2, 2), "depths": (2, 2), "image_dim": 16,
         "csi_dim": 8, "d_model": 32, "transformer_heads": 2, "wmmse_layers": 1,
         "pretrain_epochs": 1}
"""Smoke-test widths of ``linksim train --quick``."""


def quick(cfg: JSCBFConfig) -> JSCBFConfig:
    """A narrow copy for smoke tests (:data:`QUICK`)."""
    return JSCBFConfig.model_validate({**cfg.model_dump(), **QUICK})
