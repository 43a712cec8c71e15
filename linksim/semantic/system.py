"""The end-to-end semantic MU-MIMO OFDM system (seed 003, Fig. 3) and its variants.

``call`` follows the block diagram: the K images of a slot are encoded by the
shared BS encoder, mapped with pilots onto the resource grid, precoded, sent
through the channel with AWGN, and each user normalises its received level
(:data:`UE_GAIN`) and decodes its grid into an image and class
logits. The channel realisation ``h`` and noise variance
``no`` are inputs, so evaluation can feed the exact realisations of the SSCC
baselines; training draws them from :attr:`SemanticSystem.channel_sampler`
(:mod:`linksim.semantic.channel`) inside the compiled step.

Variants are entries of :data:`SEMANTIC_MODELS` (the YAML names one by its
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

import math
from dataclasses import dataclass
from typing import Literal

import keras
import numpy as np
import tensorflow as tf

from linksim.config import ConfigError, Scenario
from linksim.config.schema import SemanticConfig
from linksim.registry import Registry
from linksim.semantic.base import scenario_config
from linksim.semantic.channel import ChannelSampler, OFDMChannel
from linksim.semantic.decoder import SemanticDecoder, fold_channels
from linksim.semantic.djscc import DJSCCDecoder, DJSCCEncoder
from linksim.semantic.encoder import SemanticEncoder
from linksim.semantic.ofdm_map import GridMapper
from linksim.semantic.precoder import NeuralPrecoder, Regulariser


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


SEMANTIC_MODELS: Registry[Variant] = Registry("semantic model")
SEMANTIC_MODELS.register(
    "full", "Ours (Full): adaptive encoder, learnable residual RZF precoder, pilot-guided decoder")(
    Variant("semantic", adaptive=True, pilot_guidance=True, residual=True, regulariser="learnable"))
SEMANTIC_MODELS.register(
    "no_pilot", "Ours (w/o Pilot): as Full without pilot guidance at the UE")(
    Variant("semantic", adaptive=True, pilot_guidance=False, residual=True, regulariser="learnable"))
SEMANTIC_MODELS.register(
    "rzf", "Ours (RZF): classical RZF precoder, no adaptation, no pilot guidance")(
    Variant("semantic", adaptive=False, pilot_guidance=False, residual=False, regulariser="noise"))
SEMANTIC_MODELS.register(
    "djscc", "DJSCC (Bourtsoulatze et al. 2019) autoencoder with classical RZF")(
    Variant("djscc", adaptive=False, pilot_guidance=False, residual=False, regulariser="noise"))
SEMANTIC_MODELS.register(
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


def pilot_gain_equalization(y: tf.Tensor, pilots: tf.Tensor) -> tf.Tensor:
    """Each user's grid divided by its effective gain, LS-estimated from its own precoded pilots.

    Why: the pilots are precoded with the data, so user k's pilot REs carry
    g_k p + n with g_k the gain of its precoded channel (H V)_kk, which RZF
    with perfect CSI at the BS leaves nearly flat over a slot (``python -m
    linksim stats``). One complex gain per slot, g = sum y p^* / sum |p|^2
    over the user's pilot REs (16 at N_f = 32: 10 log10(16 K) = 18 dB of
    averaging), then y / g puts the symbols at the scale they were sent at,
    as the classical link's one-tap equaliser does, instead of an SNR-dependent
    fraction of the AGC's unit power: the estimate-and-divide a sigmoid
    attention (weights in (0, 1)) cannot learn.

    Input: y, pilots [..., num_ofdm_symbols, fft_size], tf.complex64 (pilots:
    the user's pilot reference, zeros elsewhere).
    Output: same shape as y.
    """
    num = tf.reduce_sum(y * tf.math.conj(pilots), axis=[-2, -1], keepdims=True)
    den = tf.reduce_sum(tf.square(tf.abs(pilots)), axis=[-2, -1], keepdims=True)
    return tf.math.divide_no_nan(y, num / tf.complex(den, 0.0))


def outdated_csi(h: tf.Tensor, h_other: tf.Tensor, error: float) -> tf.Tensor:
    """What the BS knows of the channel: sqrt(1 - e) h + sqrt(e) h', h' an independent draw.

    Why this model: seed 003 assumes perfect CSI at the BS, under which RZF
    leaves each user a nearly flat effective channel and the UE's pilots have
    little to do. Real BSs precode with estimated or outdated channels. The
    first-order Gauss-Markov model of channel ageing mixes the true channel
    with an independent realisation of the same model, so the error has the
    channel's power, delay and angle statistics (its frequency correlation in
    particular: the UE sees a smooth, not a white, residual). h_bs keeps the
    channel's power; its normalised error E|h_bs - h|^2 / E|h|^2 is
    2 (1 - sqrt(1 - e)), about e for small e (0.103 at e = 0.1).
    In eval h' comes from the same scenario's channel; in training from the
    training sampler (a bank slot may come from another of the mixed scenarios).

    Input: h, h_other [batch_size, num_users, 1, 1, num_bs_ant, num_ofdm_symbols, fft_size],
    tf.complex64. Output: the same shape (``h`` itself when error is 0).
    """
    if error == 0:
        return h
    return (tf.complex(math.sqrt(1.0 - error), 0.0) * h
            + tf.complex(math.sqrt(error), 0.0) * h_other)


#: How a UE brings its received grid to a known level before decoding.
UE_GAIN = {"agc": lambda y, pilots: automatic_gain_control(y),
           "pilot_ls": pilot_gain_equalization}


@keras.saving.register_keras_serializable("linksim")
class SemanticSystem(keras.Model):
    """Encoder -> grid -> precoder -> channel -> decoder, for one variant.

    Parameters
    ----------
    scenario : Scenario
        Grid, arrays and users (K images per slot).
    model : str
        Key of :data:`SEMANTIC_MODELS`.
    encoder_width, decoder_width : float
        Channel multipliers of the semantic encoder's trunk and of the
        decoder (1.0: the paper; ignored by ``djscc``).
    decoder_blocks : int
        Residual SepConv blocks at 8x8 in the UE decoder (0: the paper;
        ``SemanticDecoder``; ignored by ``djscc``).
    decoder_snr : bool
        The UE decoder knows its slot's SNR (False: the paper;
        ``SemanticDecoder``; ignored by ``djscc``).
    decoder_conv : bool
        Full convolutions in the UE decoder's restoration head (False: the
        paper's depthwise-separable ones; ``SemanticDecoder``; ignored by ``djscc``).
    pixel_path : bool
        Linear paths from 4x4 pixel blocks into the latent and from the UE
        decoder's 8x8 features back to them (False: the paper; conv latent;
        ``SemanticEncoder``; ignored by ``djscc``).
    csi_error : float
        e of :func:`outdated_csi`: the BS encodes and precodes with
        ``inputs["h_bs"]``, which training draws with this error (0: perfect
        CSI, the paper).
    ue_gain : "agc" | "pilot_ls"
        The UE's level control before decoding, a key of :data:`UE_GAIN`:
        :func:`automatic_gain_control` (unit received power) or
        :func:`pilot_gain_equalization` (divide by the pilot-estimated gain).
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
                 decoder_snr: bool = False, decoder_conv: bool = False, pixel_path: bool = False,
                 ue_gain: Literal["agc", "pilot_ls"] = "agc", csi_error: float = 0.0,
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
        self.decoder_snr = decoder_snr
        self.decoder_conv = decoder_conv
        self.pixel_path = pixel_path
        self.ue_gain = ue_gain
        self.csi_error = csi_error
        variant = SEMANTIC_MODELS[model]
        self.variant = variant
        self.mapper = GridMapper(scenario, name="ofdm_map")
        if variant.codec == "djscc":
            self.encoder = DJSCCEncoder(self.mapper.latent_dim, name="encoder")
            self.decoder = DJSCCDecoder(num_classes, name="decoder")
        else:
            self.encoder = SemanticEncoder(self.mapper.latent_dim, variant.adaptive,
                                           encoder_width, latent, pixel_path, name="encoder")
            self.decoder = SemanticDecoder(variant.pilot_guidance, num_classes,
                                           decoder_width, decoder_blocks, decoder_snr,
                                           decoder_conv, pixel_path, name="decoder")
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
        y = UE_GAIN[self.ue_gain](y, pilots)
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
                **{key: getattr(self, key) for key in ARCHITECTURE}}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["scenario"] = Scenario.model_validate(config["scenario"])
        return cls(**config)


#: The SemanticConfig fields that shape a model besides ``model`` (SemanticSystem's keyword
#: arguments of the same names): what a trained run must be rebuilt with to load its weights.
ARCHITECTURE = ("encoder_width", "decoder_width", "ce_weight", "latent", "decoder_blocks",
                "decoder_snr", "decoder_conv", "pixel_path", "ue_gain", "csi_error")
#: The ARCHITECTURE fields that set the weights' shapes (the others change only the loss or the
#: signal path): what a warm start (``linksim train --init-from``) needs equal.
WEIGHT_SHAPING = ("encoder_width", "decoder_width", "latent", "decoder_blocks", "decoder_snr",
                  "decoder_conv", "pixel_path")


def grow_into(source: SemanticSystem, target: SemanticSystem, seed: int = 0) -> None:
    """Copy ``source``'s weights into ``target``: more UE decoder blocks, twice the encoder/decoder width, pixel paths.

    ``target`` then computes what ``source`` does (up to float rounding), and
    training adds capacity to a trained model instead of starting over. Why:
    capacity is what limits these models (results/README.md, Fig. 9), but
    paying for it with a fresh run takes more epochs than a session on a small
    machine has; growing a committed model keeps the epochs it already had.

    - Extra decoder blocks (after the source's, at 8x8) start as identities
      (:meth:`~linksim.semantic.decoder.SepResBlock.start_as_identity`).
    - ``encoder_width`` or ``decoder_width`` doubled: every channel of that
      part is duplicated (Net2WiderNet, Chen et al. 2016): :func:`widened`
      tiles a weight along its output channels and splits it along its input
      channels (a depthwise kernel, which sums nothing, is tiled).
    - ``pixel_path`` added: its two convolutions start at zero (their
      initialiser), so they add nothing until training moves them.

    Raises ValueError if the two differ in anything else.
    """
    have, want = source.decoder_blocks, target.decoder_blocks
    factors = {part: getattr(target, f"{part}_width") / getattr(source, f"{part}_width")
               for part in ("encoder", "decoder")}
    paths = (source.pixel_path, target.pixel_path)
    if (source.model_name != target.model_name or want < have or paths == (True, False)
            or any(f not in (1, 2) for f in factors.values())
            or ((want, *factors.values()) == (have, 1, 1) and paths[0] == paths[1])):
        raise ValueError(f"can only add decoder blocks or pixel paths to, or double the encoder or "
                         f"decoder width of, a {source.model_name!r} model with {have} blocks, "
                         f"widths {source.encoder_width} / {source.decoder_width} and pixel_path "
                         f"{paths[0]}; the target is a {target.model_name!r} model with {want}, "
                         f"{target.encoder_width} / {target.decoder_width} and {paths[1]}")
    new = target.decoder.residual_blocks[have:]
    fresh = {id(v) for block in new for v in block.weights}
    if paths == (False, True):
        fresh |= {id(v) for v in (*target.encoder.pixel_latent.weights,
                                  *target.decoder.pixel_head.weights)}
    kept = [v for v in target.weights if id(v) not in fresh]
    wider = {id(v) for part, f in factors.items() if f == 2 for v in getattr(target, part).weights}
    rng = np.random.default_rng(seed)
    values, mismatch = [], []
    for t, s in zip(kept, source.weights):
        value = s.numpy()
        if id(t) in wider:  # as it is where the shapes are equal
            value = widened(value, tuple(t.shape), rng, depthwise="depthwise" in t.path)
        if value is None or value.shape != tuple(t.shape):
            mismatch.append(f"{t.path} {tuple(t.shape)} vs {s.path} {tuple(s.shape)}")
        values.append(value)
    if len(kept) != len(source.weights) or mismatch:
        raise ValueError(f"the models differ beyond their decoder blocks, widths and pixel paths: "
                         f"{(mismatch or ['count'])[0]}")
    for t, value in zip(kept, values):
        t.assign(value)
    for block in new:
        block.start_as_identity()


def widened(w: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator,
            depthwise: bool = False) -> np.ndarray | None:
    """``w`` for a layer with twice the channels (``shape``), computing the same; None if impossible.

    The output axis (last) is tiled: channel ``c + C`` is a twin of channel
    ``c``. The input axis (second to last, kernels only) is split between the
    twins as ``w/2 (1 + u)`` and ``w/2 (1 - u)``, u ~ U(-1/2, 1/2): twins carry
    equal values, so the next layer sums them back to ``w``, whatever u is.
    Why the u: with equal halves the twins would get equal gradients and stay
    twins for ever, and the wider model would be the narrow one.
    A ``depthwise`` kernel ([k, k, C, 1]: one filter per channel, no sum over
    channels) is tiled along its channel axis instead: a twin gets its
    original's filter. Per-channel vectors (biases, batch-norm scale, shift
    and statistics) are tiled, so a twin is normalised exactly as its original.
    """
    if w.shape == shape:
        return w
    if len(shape) != w.ndim or any(a != b for a, b in zip(w.shape[:-2], shape[:-2])):
        return None
    if shape[-1] == 2 * w.shape[-1]:
        w = np.concatenate([w, w], axis=-1)
    if w.ndim >= 2 and shape[-2] == 2 * w.shape[-2]:
        if depthwise:
            w = np.concatenate([w, w], axis=-2)
        else:
            u = rng.uniform(-0.5, 0.5, w.shape).astype(w.dtype)
            w = np.concatenate([w / 2 * (1 + u), w / 2 * (1 - u)], axis=-2)
    return w if w.shape == shape else None


def regrid_into(source: SemanticSystem, target: SemanticSystem) -> None:
    """Copy ``source`` (N_f subcarriers) into ``target`` (k N_f, k >= 2): the wider grid starts as a k-fold repetition code.

    Why: the models that need the most training are the wide-grid ones (every
    step costs more than the N_f = 32 step), and at N_f = 32 this project has
    a model trained for 128 epochs; starting N_f = 128 from it keeps its image
    features, precoder and decoder body, and only the grid's extra
    subcarriers have to be learned (results/README.md, Fig. 9).

    Only the layers on the grid side of the 8x8 fold (the encoder's last conv
    and the UE decoder's first layers) change shape with N_f, along their
    channel axes: at 8x8 positions the fold holds C = 2 S N_f / 64 values
    (``fold_channels``), and a position of the wider grid holds k times the
    values of the same position of the narrower one, in the same order.
    Every such channel axis is tiled k times (within its blocks of C, for the
    decoder's [grid, pilot reference] input), and a kernel summing over one
    (its input axis; not a depthwise kernel, which sums nothing) is divided
    by k. So:

    - the encoder sends every latent value of a position k times, each
      copy on other subcarriers (and, at N_f = 32 -> 128, in the other half
      of the slot): a repetition code over frequency;
    - a decoder fed a grid whose fold repeats a narrow grid's fold k times
      computes exactly what the source decoder computes on the narrow grid;
      fed real repeated symbols it averages the k noisy copies (k times the
      SNR, plus frequency diversity). The pilot reference is not such a
      repetition (other subcarriers carry other pilots), nor are the two
      halves of a slot exactly the layout the source saw, so the start is
      close to, not equal to, the source model at k times its SNR.

    Everything else (the image trunk, the gates, the precoder, the decoder's
    blocks and heads) is copied unchanged. Raises ValueError for another
    variant or architecture, a dense latent (its Dense layer has no
    per-position order), DJSCC, or a grid that is not k times wider.
    """
    narrow, wide = source.scenario.ofdm.fft_size, target.scenario.ofdm.fft_size
    k, rest = divmod(wide, narrow)
    same = all(getattr(source, key) == getattr(target, key) for key in ARCHITECTURE)
    if (k < 2 or rest or not same or source.model_name != target.model_name
            or source.latent != "conv" or source.variant.codec != "semantic"):
        raise ValueError(f"can only copy a conv-latent model to a grid k >= 2 times wider with "
                         f"nothing else changed; the source is a {source.model_name!r} model "
                         f"(latent {source.latent!r}) at N_f = {narrow}, the target a "
                         f"{target.model_name!r} model at N_f = {wide}")
    unit = fold_channels(source.scenario.ofdm.num_ofdm_symbols, narrow)
    values = []
    for t, s in zip(target.weights, source.weights, strict=True):
        value = repeated(s.numpy(), tuple(t.shape), k, unit, depthwise="depthwise" in t.path)
        if value is None:
            raise ValueError(f"the models differ beyond the grid: {t.path} {tuple(t.shape)} vs "
                             f"{s.path} {tuple(s.shape)}")
        values.append(value)
    for t, value in zip(target.weights, values):
        t.assign(value)


def repeated(w: np.ndarray, shape: tuple[int, ...], k: int, unit: int,
             depthwise: bool = False) -> np.ndarray | None:
    """``w`` for a layer with k times the channels on its grid-side axes (``shape``); None if impossible.

    An axis k times longer (the last, and the second to last of a kernel) is
    split into its blocks of ``unit`` channels (one block if its length is not
    a multiple of ``unit``) and each block tiled k times: in a block of L
    channels, channel ``c + j L`` is a copy of channel ``c``. A kernel's input axis (second to
    last) is also divided by k, so the k copies sum to one (a ``depthwise``
    kernel is only tiled: one filter per channel, no sum).
    """
    if w.shape == shape:
        return w
    if len(shape) != w.ndim:
        return None
    for axis in (-1, -2)[:w.ndim]:  # output channels; a kernel's input channels
        if shape[axis] != k * w.shape[axis]:
            continue
        blocks = w.shape[axis] // unit if w.shape[axis] % unit == 0 else 1
        w = np.concatenate([np.concatenate([b] * k, axis=axis)
                            for b in np.split(w, blocks, axis=axis)], axis=axis)
        if axis == -2 and not depthwise:
            w = w / k
    return w if w.shape == shape else None


def build_system(scenario: Scenario, cfg: SemanticConfig) -> SemanticSystem:
    """The variant ``cfg.model`` with ``cfg``'s widths, latent and loss weight, built.

    Raises ConfigError (one line naming ``ofdm.fft_size``) for a grid the
    decoder cannot fold or the latent cannot fill, instead of a traceback.
    """
    try:  # checked before Keras, which would wrap the message into a multi-line report
        fold_channels(scenario.ofdm.num_ofdm_symbols, scenario.ofdm.fft_size)
        system = SemanticSystem(scenario, cfg.model,
                                **{key: getattr(cfg, key) for key in ARCHITECTURE})
        system.build()
    except ValueError as err:  # fold_grid / SemanticEncoder: the grid does not fit
        raise ConfigError(f"ofdm.fft_size: {scenario.ofdm.fft_size} -- {err}") from None
    return system
