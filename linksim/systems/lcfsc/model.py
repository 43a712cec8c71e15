"""Seed 002's LCFSC system (Xie et al., Figs. 2 and 7) over the point-to-point MIMO link, and its variants.

``call`` follows Fig. 7 top to bottom, one image per slot:

1. CSI: N_T pilots τ (DFT, power P each, :mod:`linksim.phy.p2p_estimation`)
   through the slot's channel h, τ̂ = h τ + n (eq. 9), then the estimator
   ``csi`` (LS, eq. 10, or the NPN, Sec. III-B) -> h_e; or the true h
   (``csi: perfect``, Table I's assumption);
2. recurrent condition generation (Sec. IV-A, learned ratio only): the
   proxy codewords ȳ = f_p(s, h_e, m) (eq. 13) are the encoder's output with
   the stable m, without gradient (the proxy network is the latest encoder);
   the R-CVAE maps (m, ȳ) to m* (eq. 14, :class:`~.networks.RCVAE`);
3. the CSI fusion semantic encoder f_e (Swin, NI-CFMA with ratio m* in the
   third stage) and the Channel ModNet g_a -> n_sym complex symbols
   (:class:`~.networks.LCFSCEncoder`), normalised to unit mean power;
4. the link: symbols reshaped to U channel uses x N_s streams, SVD
   precoding with the CSI h_e at power P per channel use
   (:class:`linksim.phy.p2p.SVDPrecoder`), y = h x + n through the true h
   (block fading: one h per image, eq. 1), U_e^H combining and per-stream
   detection with h_e's gains (:func:`linksim.phy.p2p.svd_transceive`), then
   the per-stream MMSE shrinkage 1 / (1 + N0 / g^2) so that a faded stream
   does not flood the decoder with noise;
5. the Channel ModNet g_s and the Swin decoder f_d, told the SNR and every
   stream's SNR (the receiver knows its gains) -> the image.

Gradients: the SVD of the CSI is not differentiated (stop-gradient on h_e
for precoding and detection: the SVD's gradient is undefined at equal
singular values and its phases are arbitrary); in stage ``joint`` the NPN
learns end to end through the CSI the encoder fuses (and its own
estimation MSE, weight ``npn_weight``); in ``pretrain`` it learns only from
that MSE (Algorithm 1) while the codec trains with the stable m (CFSC).

Loss (eqs. 20-24): L_1 = 1 - MS-SSIM (3 scales, valid on 32 x 32) + MSE, or MSE. The MSE
term is ours: from a random start the contrast-structure terms of MS-SSIM are clamped at their
floor (:func:`linksim.nn.losses.ms_ssim`, no gradient there) and 1 - MS-SSIM alone stayed at
0.94 (10.5 dB PSNR) for a whole 2 x 2 epoch (9,500 images, both lcfsc and witt);
L_2 = L_1 + λ (L_rec + L_reg) with the R-CVAE's terms (learned ratio, stage
joint), plus ``npn_weight`` E|h_e - h|^2 when the NPN is used.

**Logits.** LCFSC reconstructs images only: ``logits`` are zeros so that the
generic evaluation runs (its accuracy column means nothing here).

Variants (:data:`VARIANTS`): ``lcfsc``, ``fixed_ratio`` (CFSC: NI-CFMA at the
stable m, Fig. 12), ``witt`` (no CSI fusion: WITT, the same Swin codec and
ModNet), ``adjscc`` (CNN deep JSCC with AF modules fed SNR and CSI). Not
built: NTSCC (hyperprior entropy model and rate tokens: beyond this budget),
FLSC, the U-channel estimator of Fig. 12.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import keras
import numpy as np
import tensorflow as tf

from linksim.config import ConfigError, Scenario
from linksim.nn.conditioning import snr_feature
from linksim.nn.losses import ms_ssim
from linksim.nn.power import unit_mean_power
from linksim.nn.scenario_layer import from_scenario_config, scenario_config
from linksim.phy.channel_apply import ChannelAWGN
from linksim.phy.p2p import SVDPrecoder, num_streams, svd_transceive
from linksim.phy.p2p_estimation import p2p_pilots, send_pilots
from linksim.phy.precoding import transmit_power
from linksim.registry import P2P_ESTIMATORS, Registry
from linksim.systems.base import Architecture, Stage
from linksim.systems.lcfsc.config import LCFSCConfig
from linksim.systems.lcfsc.networks import (ADJSCCDecoder, ADJSCCEncoder, LCFSCDecoder,
                                            LCFSCEncoder, RCVAE, csi_vector, to_real)


@dataclass(frozen=True)
class Variant:
    """The switches of one seed-002 variant.

    Attributes
    ----------
    backbone : "swin" | "cnn"
        Swin codec with Channel ModNet, or ADJSCC's CNN with AF modules.
    fusion : bool
        NI-CFMA in the encoder's third stage (swin only).
    learned_ratio : bool
        The R-CVAE's m* (False: the stable ``fixed_mask_ratio``).
    """

    backbone: Literal["swin", "cnn"]
    fusion: bool
    learned_ratio: bool


VARIANTS: Registry[Variant] = Registry("seed-002 variant")
VARIANTS.register("lcfsc", "LCFSC: Swin codec with NI-CFMA, learned mask ratio (R-CVAE), Channel "
                           "ModNet")(Variant("swin", True, True))
VARIANTS.register("fixed_ratio", "CFSC: NI-CFMA at the stable mask ratio fixed_mask_ratio "
                                 "(Fig. 12 ablation)")(Variant("swin", True, False))
VARIANTS.register("witt", "WITT: the same Swin codec and Channel ModNet without CSI fusion")(
    Variant("swin", False, False))
VARIANTS.register("adjscc", "ADJSCC: CNN deep JSCC, AF modules fed SNR and the MIMO CSI")(
    Variant("cnn", False, False))

ARCHITECTURE = Architecture(LCFSCConfig)
"""The architecture settings (typed in :class:`LCFSCConfig`)."""

ARCH_KEYS = ARCHITECTURE.keys
PHASES = ("pretrain", "joint")


@keras.saving.register_keras_serializable("linksim")
class LCFSCSystem(keras.Model):
    """CSI estimation + R-CVAE + CSI fusion encoder + SVD P2P MIMO link + decoder (module docstring).

    Parameters
    ----------
    scenario : Scenario
        ``link: p2p_mimo``: arrays (N_T, N_R), ``p2p`` (streams, power
        allocation) and ``precoder.power`` (P).
    model : str
        Key of :data:`VARIANTS`.
    phase : "pretrain" | "joint"
        Training stage (module docstring); saved with the model.
    num_classes : int
        Width of the (zero) logits.
    image_size : int
        Image side S.
    **arch
        The :data:`ARCH_KEYS` settings of :class:`LCFSCConfig`.

    Input
    -----
    inputs : dict
        ``images`` [B, 1, S, S, 3], tf.float32 in [0, 1];
        ``h`` [B, N_R, N_T], tf.complex64 (the slot's channel);
        ``no`` [B], tf.float32 (noise variance per receive antenna and channel use).

    Output
    ------
    outputs : dict
        ``reconstruction`` [B, 1, S, S, 3] in [0, 1]; ``logits`` [B, 1, num_classes] zeros;
        ``mask_ratio`` [B] (m per image; 0 without CSI fusion); ``h_hat`` [B, N_R, N_T]
        complex (the CSI used); with the R-CVAE, ``cvae_rec`` and ``cvae_kl`` [B].
    """

    def __init__(self, scenario: Scenario, model: str = "lcfsc", phase: str = "joint",
                 num_classes: int = 10, image_size: int = 32, **arch) -> None:
        base = {k: v for k, v in arch.items() if k not in ARCH_KEYS}
        super().__init__(**base)
        if phase not in PHASES:
            raise ValueError(f"phase {phase!r}; allowed: {', '.join(PHASES)}")
        cfg = LCFSCConfig.model_validate({"model": model, "image_size": image_size,
                                          **{k: v for k, v in arch.items() if k in ARCH_KEYS}})
        self.scenario, self.model_name, self.cfg, self.phase = scenario, model, cfg, phase
        self.num_classes = num_classes
        self.variant = variant = VARIANTS[model]
        self.n_s = num_streams(scenario)
        self.uses = cfg.channel_uses(self.n_s)
        self.n_sym = self.uses * self.n_s
        self.power = transmit_power(scenario)
        self.pilots = tf.constant(p2p_pilots(cfg.num_tx_ant, self.power))
        if cfg.csi != "perfect":
            self.estimator = P2P_ESTIMATORS[cfg.csi](cfg.num_rx_ant, cfg.num_tx_ant, self.power,
                                                     width=cfg.npn_width, basis=cfg.npn_basis,
                                                     name="csi_estimator")
        swin = dict(image_size=cfg.image_size, patch_size=cfg.patch_size,
                    window_size=cfg.window_size, embed_dims=cfg.embed_dims, depths=cfg.depths,
                    heads=cfg.heads, mlp_ratio=cfg.mlp_ratio)
        if variant.backbone == "swin":
            self.encoder = LCFSCEncoder(**swin, num_symbols=self.n_sym, fusion=variant.fusion,
                                        cfma_stage=cfg.cfma_stage, mask_dim=cfg.mask_dim,
                                        csi_dim=cfg.csi_dim, modnet_layers=cfg.modnet_layers,
                                        name="encoder")
            self.decoder = LCFSCDecoder(**swin, modnet_layers=cfg.modnet_layers, name="decoder")
        else:
            self.encoder = ADJSCCEncoder(cfg.adjscc_width, self.n_sym, name="encoder")
            self.decoder = ADJSCCDecoder(cfg.adjscc_width, cfg.image_size, name="decoder")
        if variant.learned_ratio:
            self.cvae = RCVAE(cfg.cvae_latent, cfg.cvae_width, cfg.mask_ratios, name="rcvae")
        self.precoder = SVDPrecoder(self.n_s, self.power, scenario.p2p.power_allocation)
        self.channel = ChannelAWGN()
        self.channel_sampler = None
        self.trackers = {n: keras.metrics.Mean(name=n)
                         for n in ("loss", "mse", "psnr", "csi_nmse", "mask_ratio")}

    # ----------------------------------------------------------------------------- forward
    def build(self, inputs_shape=None) -> None:
        """Create every weight (the R-CVAE's too) by one forward pass in the joint phase."""
        cfg, s = self.cfg, self.cfg.image_size
        phase, self.phase = self.phase, "joint"
        h = tf.cast(tf.eye(cfg.num_rx_ant, cfg.num_tx_ant), tf.complex64)[None]
        self.call({"images": tf.zeros([1, 1, s, s, 3]), "h": h, "no": tf.ones([1])})
        self.phase = phase

    def csi_estimate(self, h: tf.Tensor, no: tf.Tensor) -> tf.Tensor:
        """h_e [B, N_R, N_T]: the true h (perfect CSI) or the estimator's from pilots (step 1)."""
        if self.cfg.csi == "perfect":
            return h
        return self.estimator(send_pilots(h, self.pilots, no), no)

    def mask_ratio(self, images: tf.Tensor, h_e: tf.Tensor, snr: tf.Tensor,
                   training: bool) -> tuple[tf.Tensor | None, dict | None]:
        """(m [B] or None without fusion, the R-CVAE's outputs or None) (step 2)."""
        if not self.variant.fusion:
            return None, None
        fixed = tf.fill([tf.shape(images)[0]], self.cfg.fixed_mask_ratio)
        if not self.variant.learned_ratio or self.phase == "pretrain":
            return fixed, None
        proxy = unit_mean_power(self.encoder(images, h_e, snr, fixed), axes=[1])
        out = self.cvae(tf.stop_gradient(to_real(proxy)), fixed, training=training)   # eqs. 13-14
        return out["ratio"], out

    def transceive(self, z: tf.Tensor, h: tf.Tensor, h_e: tf.Tensor, no: tf.Tensor):
        """The SVD P2P link (step 4).

        Input: z [B, n_sym] complex (unit mean power); h, h_e [B, N_R, N_T]; no [B].
        Output: (z_hat [B, n_sym] after the MMSE shrinkage, no_eff [B, U, N_s] = N0 / g^2,
        x_tx [B, U, N_T] the antenna signals, E||x_tx||^2 = P per channel use).
        """
        b = tf.shape(z)[0]
        s = tf.reshape(z, [b, self.uses, self.n_s])
        shape = [b, self.uses, self.cfg.num_rx_ant, self.cfg.num_tx_ant]
        h_u = tf.broadcast_to(h[:, None], shape)
        h_csi = tf.broadcast_to(tf.stop_gradient(h_e)[:, None], shape)
        x_hat, no_eff, x_tx = svd_transceive(s, h_u, no, self.precoder, self.channel, h_csi=h_csi)
        z_hat = x_hat * tf.cast(1.0 / (1.0 + no_eff), x_hat.dtype)
        return tf.reshape(z_hat, [b, self.n_sym]), no_eff, x_tx

    def call(self, inputs: dict[str, tf.Tensor], training: bool = False) -> dict[str, tf.Tensor]:
        s = self.cfg.image_size
        images = tf.reshape(inputs["images"], [-1, s, s, 3])
        h, no = inputs["h"], inputs["no"]
        snr = snr_feature(no)
        h_e = self.csi_estimate(h, no)
        h_enc = h_e if self.phase == "joint" else tf.stop_gradient(h_e)
        ratio, cvae = self.mask_ratio(images, h_enc, snr, training)
        z = unit_mean_power(self.encoder(images, h_enc, snr, ratio), axes=[1])
        z_hat, no_eff, _ = self.transceive(z, h, h_e, no)
        stream_snr = tf.clip_by_value(-tf.math.log(no_eff[:, 0, :]) / np.log(10.0), -3.0, 5.0)
        context = tf.concat([snr, stream_snr], -1)                           # [B, 1 + N_s]
        if self.variant.backbone == "cnn":
            context = tf.concat([context, csi_vector(tf.stop_gradient(h_e))], -1)
        recon = self.decoder(to_real(z_hat), context)
        b = tf.shape(images)[0]
        out = {"reconstruction": tf.reshape(recon, [-1, 1, s, s, 3]),
               "logits": tf.zeros([b, 1, self.num_classes]),
               "mask_ratio": tf.zeros([b]) if ratio is None else ratio, "h_hat": h_e}
        if cvae is not None:
            out.update(cvae_rec=cvae["rec"], cvae_kl=cvae["kl"])
        return out

    # ----------------------------------------------------------------------------- training
    def losses_of(self, images: tf.Tensor, h: tf.Tensor, outputs: dict) -> dict[str, tf.Tensor]:
        """{"loss": L_2 (+ NPN MSE), "mse", "csi_nmse"} (module docstring)."""
        s = self.cfg.image_size
        a = tf.reshape(images, [-1, s, s, 3])
        b = tf.reshape(outputs["reconstruction"], [-1, s, s, 3])
        mse = tf.reduce_mean(tf.square(a - b))
        loss = mse if self.cfg.loss == "mse" else 1.0 - tf.reduce_mean(ms_ssim(a, b)) + mse
        if "cvae_rec" in outputs:
            loss += self.cfg.cvae_weight * tf.reduce_mean(outputs["cvae_rec"] + outputs["cvae_kl"])
        err = tf.reduce_mean(tf.abs(outputs["h_hat"] - h) ** 2)
        if self.cfg.csi == "npn":
            loss += self.cfg.npn_weight * err
        return {"loss": loss, "mse": mse, "csi_nmse": err / tf.reduce_mean(tf.abs(h) ** 2)}

    def _draw_and_forward(self, data, training: bool):
        images, _ = data
        h, no = self.channel_sampler(tf.shape(images)[0])
        return images, h, self({"images": images, "h": h, "no": no}, training=training)

    def _update_metrics(self, images, outputs, losses) -> dict[str, tf.Tensor]:
        per_image = tf.reduce_mean(tf.square(images - outputs["reconstruction"]), axis=[1, 2, 3, 4])
        values = {**losses, "mask_ratio": tf.reduce_mean(outputs["mask_ratio"]),
                  "psnr": tf.reduce_mean(-10.0 * tf.math.log(per_image) / tf.math.log(10.0))}
        for name, tracker in self.trackers.items():
            tracker.update_state(values[name])
        return {name: t.result() for name, t in self.trackers.items()}

    def train_step(self, data) -> dict[str, tf.Tensor]:
        """One Adam step on ``(images, labels)`` with a fresh channel draw (unused weights get no update)."""
        with tf.GradientTape() as tape:
            images, h, outputs = self._draw_and_forward(data, training=True)
            losses = self.losses_of(images, h, outputs)
        grads = tape.gradient(losses["loss"], self.trainable_variables)
        pairs = [(g, v) for g, v in zip(grads, self.trainable_variables) if g is not None]
        self.optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self._update_metrics(images, outputs, losses)

    def test_step(self, data) -> dict[str, tf.Tensor]:
        images, h, outputs = self._draw_and_forward(data, training=False)
        return self._update_metrics(images, outputs, self.losses_of(images, h, outputs))

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def component_parameters(self) -> dict[str, int]:
        """Weights per block of Fig. 7."""
        names = ("estimator", "cvae", "encoder", "decoder")
        return {n: int(sum(np.prod(v.shape) for v in getattr(self, n).weights))
                for n in names if hasattr(self, n) and getattr(self, n).weights}

    def get_config(self) -> dict:
        return {**super().get_config(), "scenario": scenario_config(self.scenario),
                "model": self.model_name, "phase": self.phase, "num_classes": self.num_classes,
                "image_size": self.cfg.image_size, **{k: getattr(self.cfg, k) for k in ARCH_KEYS}}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**from_scenario_config(config, ("embed_dims", "depths", "heads", "mask_ratios")))


def build_system(scenario: Scenario, cfg: LCFSCConfig) -> LCFSCSystem:
    """The variant ``cfg.model`` with ``cfg``'s architecture, built (ConfigError if the scenario does not fit)."""
    try:
        cfg.check_scenario(scenario)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    system = LCFSCSystem(scenario, cfg.model, image_size=cfg.image_size,
                         **{k: getattr(cfg, k) for k in ARCH_KEYS})
    system.build()
    return system


def _pretrain(model: LCFSCSystem, cfg: LCFSCConfig) -> None:
    model.phase = "pretrain"


def _joint(model: LCFSCSystem, cfg: LCFSCConfig) -> None:
    model.phase = "joint"


def stages(cfg: LCFSCConfig) -> tuple[Stage, ...]:
    """Pre-train (NPN by Algorithm 1, codec with the stable m) for ``pretrain_epochs``, then train jointly."""
    return (Stage("pretrain", prepare=_pretrain, epochs=lambda c: c.pretrain_epochs),
            Stage("joint", prepare=_joint))
