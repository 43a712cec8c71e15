"""The end-to-end semantic MU-MIMO OFDM system (seed 003, Fig. 3) and its variants.

``call`` follows the block diagram: the K images of a slot are encoded by the
shared BS encoder, mapped with pilots onto the resource grid, precoded, sent
through the channel with AWGN, and each user normalises its received level
(:func:`automatic_gain_control`) and decodes its grid into an image and class
logits. The channel realisation ``h`` and noise variance
``no`` are inputs, so evaluation can feed the exact realisations of the SSCC
baselines; training draws them from :attr:`SemanticSystem.channel_sampler`
(:mod:`linksim.nn.channel`) inside the compiled step.

Variants are entries of :data:`VARIANTS` (the YAML names one by its
key); each is a :class:`Variant`, the switches of one system class rather
than a separate model class, so every variant shares the same grid, channel,
power normalisation and loss.

Loss: MSE between image and reconstruction (pixels in [0, 1], mean over all
pixels, users and slots) + ``ce_weight`` x cross-entropy of the logits. The
paper does not give the weight; 0.001 keeps the reconstruction term dominant
in the shared encoder's gradients (MSE is 0.016 at 18 dB PSNR and 3e-3 at
25 dB, CE 1-2), while Adam's per-parameter scaling lets the classification
head learn at full speed anyway. With 0.01 the CE term was as large as the
MSE and the PSNR stalled near 18 dB within a few epochs (results/README.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import keras
import tensorflow as tf

from linksim.config import ConfigError, Scenario
from linksim.nn.channel import ChannelSampler, OFDMChannel, outdated_csi
from linksim.nn.scenario_layer import scenario_config
from linksim.registry import Registry
from linksim.systems.base import Architecture
from linksim.systems.scenario_adaptive.config import ScenarioAdaptiveConfig
from linksim.systems.scenario_adaptive.decoder import SemanticDecoder, fold_channels
from linksim.systems.scenario_adaptive.djscc import DJSCCDecoder, DJSCCEncoder
from linksim.systems.scenario_adaptive.encoder import SemanticEncoder
from linksim.systems.scenario_adaptive.ofdm_map import GridMapper
from linksim.systems.scenario_adaptive.precoder import NeuralPrecoder, Regulariser


@dataclass(frozen=True)
class Variant:
    """The switches that make one semantic model variant.

    Attributes
    ----------
    codec : "semantic" | "djscc"
        Seed 003's asymmetric encoder/decoder, or the DJSCC autoencoder.
    adaptive : bool
        Noise and scenario adaptation in the encoder.
    pilot_guidance : bool
        Pilot-guided attention at the UE.
    residual : bool
        Residual CNN correction in the precoder.
    regulariser : "learnable" | "noise" | "zero"
        RZF alpha: learnable, classical (noise variance) or ZF.
    """

    codec: Literal["semantic", "djscc"]
    adaptive: bool
    pilot_guidance: bool
    residual: bool
    regulariser: Regulariser


VARIANTS: Registry[Variant] = Registry("seed-003 variant")
VARIANTS.register(
    "full", "Ours (Full): adaptive encoder, learnable residual RZF precoder, pilot-guided decoder")(
    Variant("semantic", adaptive=True, pilot_guidance=True, residual=True, regulariser="learnable"))
VARIANTS.register(
    "no_pilot", "Ours (w/o Pilot): as Full without pilot guidance at the UE")(
    Variant("semantic", adaptive=True, pilot_guidance=False, residual=True, regulariser="learnable"))
VARIANTS.register(
    "rzf", "Ours (RZF): classical RZF precoder, no adaptation, no pilot guidance")(
    Variant("semantic", adaptive=False, pilot_guidance=False, residual=False, regulariser="noise"))
VARIANTS.register(
    "djscc", "DJSCC (Bourtsoulatze et al. 2019) autoencoder with classical RZF")(
    Variant("djscc", adaptive=False, pilot_guidance=False, residual=False, regulariser="noise"))
VARIANTS.register(
    "zf", "Full with alpha = 0 (ZF precoding), the numerically unstable precoder of Fig. 10")(
    Variant("semantic", adaptive=True, pilot_guidance=True, residual=True, regulariser="zero"))


def automatic_gain_control(y: tf.Tensor) -> tf.Tensor:
    """Each user's received grid scaled to unit mean power, as a receiver's AGC does.

    Why: after power-normalised precoding, a user's received power varies by
    tens of dB between drops (the conditioning of the 4x4 channel sets the
    RZF gain) and with the SNR; a small decoder with batch statistics cannot
    follow that range. Seed 003 does not say how its UE copes; every real
    receiver normalises its input level, using nothing but what it receives.

    Input: y [..., num_ofdm_symbols, fft_size], tf.complex64.
    Output: same shape, mean |y|^2 = 1 over each grid.
    """
    power = tf.reduce_mean(tf.square(tf.abs(y)), axis=[-2, -1], keepdims=True)
    scale = tf.math.rsqrt(power + 1e-12)
    return y * tf.complex(scale, tf.zeros_like(scale))


@keras.saving.register_keras_serializable("linksim")
class SemanticSystem(keras.Model):
    """Encoder -> grid -> precoder -> channel -> decoder, for one variant.

    Parameters
    ----------
    scenario : Scenario
        Grid, arrays and users (K images per slot).
    model : str
        Key of :data:`VARIANTS`.
    encoder_width, decoder_width : float
        Channel multipliers of the semantic encoder's trunk and of the
        decoder (1.0: the paper; ignored by ``djscc``).
    decoder_blocks : int
        Residual SepConv blocks at 8x8 in the UE decoder (0: the paper;
        ``SemanticDecoder``; ignored by ``djscc``).
    pixel_path : bool
        Linear paths from 4x4 pixel blocks into the latent and from the UE
        decoder's 8x8 features back to them (False: the paper; conv latent;
        ``SemanticEncoder``; ignored by ``djscc``).
    csi_error : float
        e of :func:`outdated_csi`: the BS encodes and precodes with
        ``inputs["h_bs"]``, which training draws with this error (0: perfect
        CSI, the paper).
    latent : "dense" | "conv"
        The semantic encoder's latent layer (``SemanticEncoder``; the paper:
        "dense"; ignored by ``djscc``).
    ce_weight : float
        lambda of the loss MSE + lambda CE.
    num_classes : int
        Classes of the classification heads.

    Input
    -----
    inputs : dict
        ``images`` [batch_size, num_users, 32, 32, 3], tf.float32 in [0, 1]:
        the K images of each slot, image k for user k;
        ``h`` [batch_size, num_users, 1, 1, num_bs_ant, num_ofdm_symbols, fft_size],
        tf.complex64: channel (as ``linksim.phy.CHANNELS`` returns it);
        ``no`` [batch_size], tf.float32: noise variance of each slot;
        optional ``h_bs``, shaped as ``h``: the BS's knowledge of it, for the
        encoder's CSI and the precoder (default ``h``: perfect CSI).

    Output
    ------
    outputs : dict
        ``reconstruction`` [batch_size, num_users, 32, 32, 3], tf.float32 in [0, 1];
        ``logits`` [batch_size, num_users, num_classes], tf.float32.

    Training
    --------
    ``fit`` / ``train_step`` take batches ``(images, labels)`` with labels
    [batch_size, num_users] int, and draw ``(h, no)`` from
    :attr:`channel_sampler` (set it before training; it is not saved).
    """

    def __init__(self, scenario: Scenario, model: str = "full", encoder_width: float = 1.0,
                 decoder_width: float = 1.0, ce_weight: float = 0.001, num_classes: int = 10,
                 latent: Literal["dense", "conv"] = "dense", decoder_blocks: int = 0,
                 pixel_path: bool = False, csi_error: float = 0.0, head_width: float | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.model_name = model
        self.encoder_width = encoder_width
        self.decoder_width = decoder_width
        self.ce_weight = ce_weight
        self.num_classes = num_classes
        self.latent = latent
        self.decoder_blocks = decoder_blocks
        self.pixel_path = pixel_path
        self.head_width = head_width
        self.csi_error = csi_error
        variant = VARIANTS[model]
        self.variant = variant
        self.mapper = GridMapper(scenario, name="ofdm_map")
        if variant.codec == "djscc":
            self.encoder = DJSCCEncoder(self.mapper.latent_dim, name="encoder")
            self.decoder = DJSCCDecoder(num_classes, name="decoder")
        else:
            self.encoder = SemanticEncoder(self.mapper.latent_dim, variant.adaptive,
                                           encoder_width, latent, pixel_path, name="encoder")
            self.decoder = SemanticDecoder(variant.pilot_guidance, num_classes,
                                           decoder_width, decoder_blocks, pixel_path,
                                           head_width, name="decoder")
        self.precoder = NeuralPrecoder(scenario, variant.residual, variant.regulariser,
                                       name="precoder")
        self.channel = OFDMChannel(name="channel")
        self.channel_sampler: ChannelSampler | None = None
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("loss", "mse", "ce", "psnr", "accuracy")}

    def build(self, inputs_shape=None) -> None:
        """Create every weight by one forward pass on a dummy slot (an identity channel)."""
        sc = self.scenario
        k, m = sc.ue.num_users, sc.bs.array.num_ant
        s, f = sc.ofdm.num_ofdm_symbols, sc.ofdm.fft_size
        h = tf.cast(tf.eye(k, m), tf.complex64)[None, :, None, None, :, None, None]
        self.call({"images": tf.zeros([1, k, 32, 32, 3]),
                   "h": tf.broadcast_to(h, [1, k, 1, 1, m, s, f]),
                   "no": tf.ones([1])})

    def call(self, inputs: dict[str, tf.Tensor], training: bool = False) -> dict[str, tf.Tensor]:
        images, h, no = inputs["images"], inputs["h"], inputs["no"]
        h_bs = inputs.get("h_bs", h)
        sc = self.scenario
        k, m = sc.ue.num_users, sc.bs.array.num_ant
        s, f = sc.ofdm.num_ofdm_symbols, sc.ofdm.fft_size
        # BS: encode each user's image with its own |h_k| spectrum and the slot's N0
        csi = tf.reduce_mean(tf.abs(h_bs[:, :, 0, 0]), axis=3)               # [B, K, M, F]
        csi = tf.reshape(tf.transpose(csi, [0, 1, 3, 2]), [-1, f, m])         # [B*K, F, M]
        z = self.encoder(tf.reshape(images, [-1, 32, 32, 3]), csi, tf.repeat(no, k),
                         training=training)                                   # [B*K, L]
        grid = self.mapper(tf.reshape(z, [-1, k, self.mapper.latent_dim]))    # [B, 1, K, S, F]
        x = self.precoder(grid, h_bs, no, training=training)                  # [B, 1, M, S, F]
        # channel, then every UE decodes its own grid with its own pilot reference
        y = self.channel(x, h, no)                                            # [B, K, S, F]
        pilots = tf.tile(self.mapper.pilot_reference[None], [tf.shape(y)[0], 1, 1, 1])
        y = automatic_gain_control(y)
        images_hat, logits = self.decoder(tf.reshape(y, [-1, s, f]),
                                          tf.reshape(pilots, [-1, s, f]), tf.repeat(no, k),
                                          training=training)
        return {"reconstruction": tf.reshape(images_hat, [-1, k, 32, 32, 3]),
                "logits": tf.reshape(logits, [-1, k, self.num_classes])}

    def semantic_loss(self, images: tf.Tensor, labels: tf.Tensor,
                      outputs: dict[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """(loss, mse, ce), scalars: MSE + ce_weight x mean sparse cross-entropy."""
        mse = tf.reduce_mean(tf.square(images - outputs["reconstruction"]))
        ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            tf.cast(labels, tf.int32), outputs["logits"]))
        return mse + self.ce_weight * ce, mse, ce

    def _draw_and_forward(self, data, training: bool):
        images, labels = data
        h, no = self.channel_sampler(tf.shape(images)[0])
        inputs = {"images": images, "h": h, "no": no}
        if self.csi_error:
            h_other = self.channel_sampler.channel(tf.shape(images)[0])
            inputs["h_bs"] = outdated_csi(h, h_other, self.csi_error)
        outputs = self(inputs, training=training)
        return images, labels, outputs

    def _update_metrics(self, images, labels, outputs, losses) -> dict[str, tf.Tensor]:
        loss, mse, ce = losses
        per_image = tf.reduce_mean(tf.square(images - outputs["reconstruction"]), axis=[2, 3, 4])
        correct = tf.equal(tf.argmax(outputs["logits"], -1, output_type=tf.int32),
                           tf.cast(labels, tf.int32))
        values = {"loss": loss, "mse": mse, "ce": ce,
                  "psnr": tf.reduce_mean(-10.0 * tf.math.log(per_image) / tf.math.log(10.0)),
                  "accuracy": tf.reduce_mean(tf.cast(correct, tf.float32))}
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: t.result() for name, t in self.trackers.items()}

    def train_step(self, data) -> dict[str, tf.Tensor]:
        """One optimisation step on ``(images, labels)`` with a fresh channel draw."""
        with tf.GradientTape() as tape:
            images, labels, outputs = self._draw_and_forward(data, training=True)
            losses = self.semantic_loss(images, labels, outputs)
        grads = tape.gradient(losses[0], self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        return self._update_metrics(images, labels, outputs, losses)

    def test_step(self, data) -> dict[str, tf.Tensor]:
        """Metrics on ``(images, labels)`` with a fresh channel draw, no update."""
        images, labels, outputs = self._draw_and_forward(data, training=False)
        return self._update_metrics(images, labels, outputs,
                                    self.semantic_loss(images, labels, outputs))

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def component_parameters(self) -> dict[str, int]:
        """Weights per component (encoder, precoder, decoder), as in Table III."""
        return {name: int(sum(v.numpy().size for v in getattr(self, name).weights))
                for name in ("encoder", "precoder", "decoder")}

    def get_config(self) -> dict:
        return {**super().get_config(), "scenario": scenario_config(self.scenario),
                "model": self.model_name, "num_classes": self.num_classes,
                **{key: getattr(self, key) for key in ARCHITECTURE.keys}}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["scenario"] = Scenario.model_validate(config["scenario"])
        return cls(**config)


ARCHITECTURE = Architecture(ScenarioAdaptiveConfig)
"""The architecture settings (typed in :class:`ScenarioAdaptiveConfig`): keys, weight-shaping, growable."""


def build_system(scenario: Scenario, cfg: ScenarioAdaptiveConfig) -> SemanticSystem:
    """The variant ``cfg.model`` with ``cfg``'s widths, latent and loss weight, built.

    Raises ConfigError (one line naming ``ofdm.fft_size``) for a grid the
    decoder cannot fold or the latent cannot fill, instead of a traceback.
    """
    try:  # checked before Keras, which would wrap the message into a multi-line report
        fold_channels(scenario.ofdm.num_ofdm_symbols, scenario.ofdm.fft_size)
        system = SemanticSystem(scenario, cfg.model,
                                **{key: getattr(cfg, key) for key in ARCHITECTURE.keys})
        system.build()
    except ValueError as err:  # fold_grid / SemanticEncoder: the grid does not fit
        raise ConfigError(f"ofdm.fft_size: {scenario.ofdm.fft_size} -- {err}") from None
    return system
