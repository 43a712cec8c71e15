"""The deep JSCBF system of seed 000 (Wu et al., Fig. 2) as one Keras model, and its variants.

``call`` follows the block diagram top to bottom:

1. the BS's channel Ĥ: given (``h_bs``), the true one (``bs_csi: perfect``),
   or estimated from L pilot OFDM symbols with the scenario's
   ``sounding.estimator`` (:mod:`linksim.phy.sounding`: LS, LMMSE or OMP; the
   paper uses GMMV-LAMP) at the slot's noise level;
2. image semantic extraction (Swin encoder, Fig. 3) -> N_c x D per user;
3. CSI semantic extraction (transformer over the subcarriers on
   [Re Ĥ, Im Ĥ], eq. 8, Fig. 4) -> N_c x csi_dim;
4. semantic fusion (Fig. 5, eq. 9) -> complex W_s [N_c, K, Q], each user's
   symbols normalised to unit mean power (as deep JSCC encoders do; the
   paper states only the total constraint);
5. hybrid beamforming: X_m[n] = F_BB[n] W_s[n] with F_BB from the unfolded
   WMMSE whose parameter set A is predicted from the CSI semantics (Fig. 7,
   eq. 27), X_d from the data-driven transformer (Fig. 6), merged
   X_c = beta_d X_d + beta_m X_m (eq. 28, learned betas);
6. power normalisation ||X||_F^2 <= Q P_t (eqs. 7, 29) with
   P_t = N_c P_re (P_re: :func:`linksim.phy.precoding.transmit_power`, so the
   SNR is 1/N0 per RE, the linksim convention);
7. the channel (:class:`linksim.nn.channel.OFDMChannel`, the shared AWGN) on
   the first Q OFDM symbols of the grid;
8. every UE decodes its own N_c x Q received symbols (Swin decoder, Fig. 8).

**Pre-training without the channel** (the paper's Sec. IV-C): with
``no_channel`` set (stage ``pretrain``), step 5-7 are skipped and user k
"receives" its own normalised W_s[:, k, :] exactly: the image codec (and the
fusion) learn to compress before they learn to cope with beamforming and
noise. The flag is saved in the model's config, so a resumed pre-training
stays in that mode.

**Logits.** JSCBF reconstructs images only; ``logits`` are zeros
[B, K, num_classes] (the generic evaluation's interface) and
``classifies = False`` tells it to leave the accuracy column empty.

Variants (:data:`VARIANTS`): ``jscbf`` (the full scheme), ``model_driven``
(Table II's ablation: no data-driven branch), ``djscc`` (the paper's deep
JSCC baseline: the same Swin codec mapping each image straight to its
symbols, no CSI semantics, classical RZF; the paper's deep JSCC is a CNN,
here the codec is shared so that the comparison isolates the beamforming).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import keras
import numpy as np
import sionna
import tensorflow as tf

from linksim.config import ConfigError, Scenario
from linksim.nn.channel import ChannelSampler, OFDMChannel
from linksim.nn.losses import ms_ssim
from linksim.nn.power import clip_energy, unit_mean_power
from linksim.nn.scenario_layer import from_scenario_config, scenario_config
from linksim.phy.precoding import transmit_power
from linksim.phy.sounding import channel_matrix, scenario_pilots
from linksim.registry import SOUNDING_ESTIMATORS, Registry
from linksim.systems.base import Architecture, Stage
from linksim.systems.jscbf.beamforming import DataDrivenBeamformer, UnfoldedWMMSE, classical_rzf
from linksim.systems.jscbf.config import JSCBFConfig
from linksim.systems.jscbf.networks import (CSIExtractor, DirectSymbols, SemanticFusion,
                                            SwinImageDecoder, SwinImageEncoder)


@dataclass(frozen=True)
class Variant:
    """The switches of one JSCBF variant.

    Attributes
    ----------
    fusion : bool
        CSI semantic extraction + semantic fusion (False: each image straight to its symbols).
    data_driven : bool
        The data-driven beamforming branch (Fig. 6).
    model_driven : "unfolded" | "rzf"
        The unfolded, semantic-aware WMMSE (Fig. 7) or classical RZF.
    """

    fusion: bool
    data_driven: bool
    model_driven: Literal["unfolded", "rzf"]


VARIANTS: Registry[Variant] = Registry("seed-000 variant")
VARIANTS.register("jscbf", "Deep JSCBF: Swin codec, CSI semantics + fusion, hybrid data/model-driven "
                           "beamforming")(Variant(True, True, "unfolded"))
VARIANTS.register("model_driven", "Deep JSCBF with model-driven beamforming only (Table II "
                                  "ablation)")(Variant(True, False, "unfolded"))
VARIANTS.register("djscc", "Deep JSCC over the RZF-precoded channel (the same Swin codec, no CSI "
                           "semantics, no beamforming network)")(Variant(False, False, "rzf"))


ARCHITECTURE = Architecture(JSCBFConfig)
"""The architecture settings (typed in :class:`JSCBFConfig`)."""

ARCH_KEYS = ARCHITECTURE.keys


@keras.saving.register_keras_serializable("linksim")
class HybridMerge(keras.layers.Layer):
    """Eq. 28: X_c = beta_d X_d + beta_m X_m with learned scalars.

    beta_m starts at 1 and beta_d at 0.1: the data-driven branch starts as a
    small addition to the model-driven (WMMSE) signal rather than as noise
    of equal power (our choice; the paper does not give the initial values).

    Input: x_d, x_m [B, N_c, N_t, Q], tf.complex64.  Output: x_c, same shape.
    """

    def build(self, input_shape=None) -> None:
        self.beta_d = self.add_weight(shape=(), initializer=keras.initializers.Constant(0.1),
                                      name="beta_d")
        self.beta_m = self.add_weight(shape=(), initializer="ones", name="beta_m")

    def call(self, x_d: tf.Tensor, x_m: tf.Tensor) -> tf.Tensor:
        return (tf.complex(self.beta_d, 0.0) * x_d + tf.complex(self.beta_m, 0.0) * x_m)


@keras.saving.register_keras_serializable("linksim")
class JSCBFSystem(keras.Model):
    """Image codec + CSI semantics + fusion + hybrid beamformer + channel + UE decoders (module docstring).

    Parameters
    ----------
    scenario : Scenario
        Grid (N_c = ``ofdm.fft_size``, at least Q OFDM symbols), BS array
        (N_t), users (K), sounding (pilots L) and power convention.
    model : str
        Key of :data:`VARIANTS`.
    no_channel : bool
        Pre-training mode (module docstring).
    num_classes : int
        Width of the (zero) logits.
    image_size : int
        Image side S (``semantic.image_size``; 32: CIFAR-10).
    **arch
        The :data:`ARCH_KEYS` settings of :class:`JSCBFConfig`.

    Input
    -----
    inputs : dict
        ``images`` [B, K, S, S, 3], tf.float32 in [0, 1];
        ``h`` [B, K, 1, 1, N_t, num_ofdm_symbols, N_c], tf.complex64 (the true channel);
        ``no`` [B], tf.float32 (noise variance per RE);
        optional ``h_bs`` (shaped as ``h``): the BS's estimate, which then
        replaces its own sounding.

    Output
    ------
    outputs : dict
        ``reconstruction`` [B, K, S, S, 3], tf.float32 in [0, 1];
        ``logits`` [B, K, num_classes], tf.float32 zeros.

    Training
    --------
    ``train_step`` / ``test_step`` take ``(images, labels)`` (labels unused)
    and draw ``(h, no)`` from :attr:`channel_sampler`; loss MSE or
    MSE + w (1 - MS-SSIM) (``loss``); metrics loss, mse, psnr (dB, mean over images).
    """

    classifies = False
    """No classification head: the generic evaluation reports no accuracy."""

    def __init__(self, scenario: Scenario, model: str = "jscbf", no_channel: bool = False,
                 num_classes: int = 10, image_size: int = 32, **arch) -> None:
        base = {k: v for k, v in arch.items() if k not in ARCH_KEYS}
        super().__init__(**base)
        cfg = JSCBFConfig.model_validate({"system": "jscbf", "model": model, "image_size": image_size,
                                          **{k: v for k, v in arch.items() if k in ARCH_KEYS}})
        self.scenario, self.model_name, self.cfg = scenario, model, cfg
        self.no_channel, self.num_classes = no_channel, num_classes
        self.variant = variant = VARIANTS[model]
        k, nc, m, q = scenario.ue.num_users, scenario.ofdm.fft_size, cfg.num_tx_ant, cfg.num_symbols
        self.dims = (k, nc, m, q)
        self.power = transmit_power(scenario)
        swin = dict(image_size=cfg.image_size, patch_size=cfg.patch_size,
                    window_size=cfg.window_size, embed_dims=cfg.embed_dims, depths=cfg.depths,
                    heads=cfg.heads, mlp_ratio=cfg.mlp_ratio)
        seq = dict(d_model=cfg.d_model, depth=cfg.transformer_depth, heads=cfg.transformer_heads,
                   mlp_ratio=cfg.mlp_ratio)
        self.encoder = SwinImageEncoder(**swin, num_subcarriers=nc, image_dim=cfg.image_dim,
                                        name="image_encoder")
        if variant.fusion:
            self.csi_extractor = CSIExtractor(k, nc, cfg.csi_dim, **seq, name="csi_extractor")
            self.fusion = SemanticFusion(k, q, nc, cfg.image_dim, **seq, name="fusion")
        else:
            self.fusion = DirectSymbols(q, name="symbols")
        if variant.model_driven == "unfolded":
            self.model_bf = UnfoldedWMMSE(k, nc, cfg.wmmse_layers, self.power, **seq,
                                          name="model_driven_bf")
        if variant.data_driven:
            self.data_bf = DataDrivenBeamformer(m, q, nc, **seq, name="data_driven_bf")
            self.merge = HybridMerge(name="merge")
        self.channel = OFDMChannel(name="channel")
        self.decoder = SwinImageDecoder(**swin, name="ue_decoder")
        if cfg.bs_csi != "perfect":
            self.pilots = tf.constant(scenario_pilots(scenario))
            self.estimator = SOUNDING_ESTIMATORS[scenario.sounding.estimator](scenario, self.pilots)
        self.channel_sampler: ChannelSampler | None = None
        self.trackers = {n: keras.metrics.Mean(name=n) for n in ("loss", "mse", "psnr")}

    # ----------------------------------------------------------------------------- forward
    def build(self, inputs_shape=None) -> None:
        """Create every weight by one forward pass (with the channel, also in pre-training mode)."""
        k, nc, m, q = self.dims
        s, sym = self.cfg.image_size, max(q, self.scenario.ofdm.num_ofdm_symbols)
        h = tf.cast(tf.eye(k, m), tf.complex64)[None, :, None, None, :, None, None]
        mode, self.no_channel = self.no_channel, False
        self.call({"images": tf.zeros([1, k, s, s, 3]), "h": tf.broadcast_to(h, [1, k, 1, 1, m, sym, nc]),
                   "no": tf.ones([1]), "h_bs": tf.broadcast_to(h, [1, k, 1, 1, m, sym, nc])})
        self.no_channel = mode

    def bs_channel(self, inputs: dict[str, tf.Tensor]) -> tf.Tensor:
        """Ĥ [B, K, N_c, N_t]: ``h_bs``, the true channel, or the BS's sounding estimate (step 1)."""
        if "h_bs" in inputs:
            return channel_matrix(inputs["h_bs"])
        h = channel_matrix(inputs["h"])                                      # [B, K, N_c, N_t]
        if self.cfg.bs_csi == "perfect":
            return h
        y = tf.matmul(h, self.pilots)                                         # [B, K, N_c, L]
        std = tf.sqrt(inputs["no"] / 2.0)[:, None, None, None]
        rng = sionna.phy.config.tf_rng                                      # as linksim.phy.sounding.sound
        noise = tf.complex(rng.normal(tf.shape(y)) * std, rng.normal(tf.shape(y)) * std)
        return self.estimator(y + noise, inputs["no"][:, None, None, None])

    def call(self, inputs: dict[str, tf.Tensor], training: bool = False) -> dict[str, tf.Tensor]:
        images, h, no = inputs["images"], inputs["h"], inputs["no"]
        k, nc, m, q = self.dims
        s = self.cfg.image_size
        h_hat = self.bs_channel(inputs)                                       # [B, K, N_c, N_t]
        # semantic extraction (image, CSI) and fusion -> W_s [B, N_c, K, Q], unit power per user
        feats = tf.reshape(self.encoder(tf.reshape(images, [-1, s, s, 3])), [-1, k, nc, self.cfg.image_dim])
        csi = self.csi_extractor(h_hat) if self.variant.fusion else None     # [B, N_c, csi_dim]
        w_s = self.fusion(feats, csi) if self.variant.fusion else self.fusion(feats)
        w_s = unit_mean_power(w_s, axes=[1, 3])
        if self.no_channel:                                                   # pre-training
            y = tf.transpose(w_s, [0, 2, 1, 3])                               # [B, K, N_c, Q]
        else:
            x = self.beamform(w_s, h_hat, no, csi)                            # [B, 1, N_t, Q, N_c]
            y = self.channel(x, h[..., :q, :], no)                            # [B, K, Q, N_c]
            y = tf.transpose(y, [0, 1, 3, 2])                                 # [B, K, N_c, Q]
        y = tf.reshape(y, [-1, nc, q])
        images_hat = self.decoder(tf.concat([tf.math.real(y), tf.math.imag(y)], -1))
        return {"reconstruction": tf.reshape(images_hat, [-1, k, s, s, 3]),
                "logits": tf.zeros([tf.shape(images)[0], k, self.num_classes])}

    def beamform(self, w_s: tf.Tensor, h_hat: tf.Tensor, no: tf.Tensor,
                 csi: tf.Tensor | None) -> tf.Tensor:
        """Hybrid beamforming and power normalisation (steps 5-6).

        Input: w_s [B, N_c, K, Q] complex; h_hat [B, K, N_c, N_t] complex; no [B];
        csi [B, N_c, csi_dim] (None without fusion).
        Output: x [B, 1, N_t, Q, N_c], tf.complex64 (OFDMChannel's layout),
        ||x||_F^2 <= Q N_c P_re per slot.
        """
        k, nc, m, q = self.dims
        hn = tf.transpose(h_hat, [0, 2, 1, 3])                                # [B, N_c, K, N_t]
        if self.variant.model_driven == "unfolded":
            f_bb = self.model_bf(hn, no, csi)                                 # [B, N_c, N_t, K]
        else:
            f_bb = classical_rzf(hn, no, self.power)
        x = tf.matmul(f_bb, w_s)                                              # X_m [B, N_c, N_t, Q], eq. 27
        if self.variant.data_driven:
            x = self.merge(self.data_bf(w_s), x)                              # X_c, eq. 28
        x = clip_energy(x, q * nc * self.power, axes=[1, 2, 3])               # eq. 29
        return tf.transpose(x, [0, 2, 3, 1])[:, None]

    # ----------------------------------------------------------------------------- training
    def semantic_loss(self, images: tf.Tensor, reconstruction: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(loss, mse): MSE, or MSE + ms_ssim_weight (1 - MS-SSIM) (:func:`linksim.nn.losses.ms_ssim`, 3 scales)."""
        mse = tf.reduce_mean(tf.square(images - reconstruction))
        if self.cfg.loss == "mse":
            return mse, mse
        s = self.cfg.image_size
        a, b = tf.reshape(images, [-1, s, s, 3]), tf.reshape(reconstruction, [-1, s, s, 3])
        ms = ms_ssim(a, b)
        return mse + self.cfg.ms_ssim_weight * (1.0 - tf.reduce_mean(ms)), mse

    def _draw_and_forward(self, data, training: bool):
        images, _ = data
        h, no = self.channel_sampler(tf.shape(images)[0])
        return images, self({"images": images, "h": h, "no": no}, training=training)

    def _update_metrics(self, images, outputs, losses) -> dict[str, tf.Tensor]:
        per_image = tf.reduce_mean(tf.square(images - outputs["reconstruction"]), axis=[2, 3, 4])
        values = {"loss": losses[0], "mse": losses[1],
                  "psnr": tf.reduce_mean(-10.0 * tf.math.log(per_image) / tf.math.log(10.0))}
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: t.result() for name, t in self.trackers.items()}

    def train_step(self, data) -> dict[str, tf.Tensor]:
        """One Adam step on ``(images, labels)`` with a fresh channel draw (unused weights get no update)."""
        with tf.GradientTape() as tape:
            images, outputs = self._draw_and_forward(data, training=True)
            losses = self.semantic_loss(images, outputs["reconstruction"])
        grads = tape.gradient(losses[0], self.trainable_variables)
        pairs = [(g, v) for g, v in zip(grads, self.trainable_variables) if g is not None]
        self.optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self._update_metrics(images, outputs, losses)

    def test_step(self, data) -> dict[str, tf.Tensor]:
        images, outputs = self._draw_and_forward(data, training=False)
        return self._update_metrics(images, outputs,
                                    self.semantic_loss(images, outputs["reconstruction"]))

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def component_parameters(self) -> dict[str, int]:
        """Weights per block of Fig. 2."""
        names = ("encoder", "csi_extractor", "fusion", "model_bf", "data_bf", "merge", "decoder")
        return {n: int(sum(np.prod(v.shape) for v in getattr(self, n).weights))
                for n in names if hasattr(self, n)}

    def get_config(self) -> dict:
        return {**super().get_config(), "scenario": scenario_config(self.scenario),
                "model": self.model_name, "no_channel": self.no_channel,
                "num_classes": self.num_classes, "image_size": self.cfg.image_size,
                **{k: getattr(self.cfg, k) for k in ARCH_KEYS}}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**from_scenario_config(config, ("embed_dims", "depths", "heads", "upa")))


def check_fits(scenario: Scenario, cfg: JSCBFConfig) -> None:
    """ConfigError (one line, naming the key) when the scenario cannot carry ``cfg``'s model."""
    arr = scenario.bs.array
    if cfg.num_tx_ant != arr.num_ant:
        raise ConfigError(f"semantic.num_tx_ant: {cfg.num_tx_ant} -- the BS array (bs.array) has "
                          f"{arr.num_ant} antennas")
    if tuple(cfg.upa) != (arr.num_cols, arr.num_rows):
        raise ConfigError(f"semantic.upa: {list(cfg.upa)} -- the BS array is num_cols x num_rows = "
                          f"{arr.num_cols} x {arr.num_rows}")
    if cfg.num_symbols > scenario.ofdm.num_ofdm_symbols:
        raise ConfigError(f"semantic.num_symbols: Q={cfg.num_symbols} -- more than the grid's "
                          f"{scenario.ofdm.num_ofdm_symbols} OFDM symbols (ofdm.num_ofdm_symbols)")
    if cfg.bs_csi != "perfect" and scenario.sounding.num_pilots < 1:
        raise ConfigError("sounding.num_pilots: the BS needs pilots to estimate its CSI")


def build_system(scenario: Scenario, cfg: JSCBFConfig) -> JSCBFSystem:
    """The variant ``cfg.model`` with ``cfg``'s architecture, built (ConfigError if the scenario does not fit)."""
    check_fits(scenario, cfg)
    system = JSCBFSystem(scenario, cfg.model, image_size=cfg.image_size,
                         **{k: getattr(cfg, k) for k in ARCH_KEYS})
    system.build()
    return system


def _pretrain(model: JSCBFSystem, cfg: JSCBFConfig) -> None:
    model.no_channel = True


def _joint(model: JSCBFSystem, cfg: JSCBFConfig) -> None:
    model.no_channel = False


def stages(cfg: JSCBFConfig) -> tuple[Stage, ...]:
    """Pre-train the codec without the channel (``pretrain_epochs``), then train end to end (``epochs``)."""
    return (Stage("pretrain", prepare=_pretrain, epochs=lambda c: c.pretrain_epochs),
            Stage("joint", prepare=_joint))
