"""Seed 002's networks: NI-CFMA with the GRN importance score (Figs. 4-5, eqs. 6-8), the CSI fusion Swin encoder
(Fig. 3), the Channel ModNet, the R-CVAE (Fig. 8, eqs. 13-24) and the ADJSCC baseline.

What is the paper's, written here from its text (no public code): the CSI
fusion masking model (:class:`GatedResidualNetwork`, :class:`CSILink`,
:class:`NICFMA`), the encoder stage that carries it
(:class:`CSIFusionSwinStage`) and the R-CVAE (:class:`RCVAE`). Reused:
the Swin blocks, patch merging/splitting and the Swin decoder of
:mod:`linksim.nn.swin` (NI-CFMA *extends* its :class:`WindowAttention`);
WITT's Channel ModNet and ADJSCC's attention-feature module are written here
from their papers as one gate (:class:`ContextGate`).

Notation: N images (one per slot on the P2P link), N_R x N_T the MIMO
channel, n_sym complex symbols per image, D = w^2 tokens per window.
"""
from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from linksim.nn.swin import (LazyBuild, PatchEmbedding, SwinBlock, SwinImageDecoder, SwinStage,
                             WindowAttention, hierarchical_stages)


@keras.saving.register_keras_serializable("linksim")
class GatedResidualNetwork(LazyBuild, keras.layers.Layer):
    """The GRN of the temporal fusion transformer (Lim et al. 2021), the semantic importance of Fig. 5.

    GRN(x) = LN(W_a x + GLU(W_1 ELU(W_2 x + b_2) + b_1)), GLU(γ) = σ(W_4 γ) ⊙ (W_5 γ):
    a direct path (linear, ELU, gated linear unit) and a residual path
    (a linear skip to the output width), added and normalised.

    Input: x [..., C], tf.float32.  Output: importance [..., units], tf.float32.
    """

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.w2 = keras.layers.Dense(units, activation="elu", name="w2")
        self.w1 = keras.layers.Dense(units, name="w1")
        self.gate = keras.layers.Dense(units, activation="sigmoid", name="gate")
        self.value = keras.layers.Dense(units, name="value")
        self.skip = keras.layers.Dense(units, use_bias=False, name="skip")
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")

    def call(self, x: tf.Tensor) -> tf.Tensor:
        g = self.w1(self.w2(x))
        return self.norm(self.skip(x) + self.gate(g) * self.value(g))

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}


def csi_image(h_e: tf.Tensor, snr: tf.Tensor) -> tf.Tensor:
    """[Re h_e, Im h_e, SNR] as a 3-channel N_R x N_T image.

    Input: h_e [N, N_R, N_T] complex; snr [N, 1] (:func:`linksim.nn.conditioning.snr_feature`).
    Output: [N, N_R, N_T, 3], tf.float32.
    """
    shape = tf.shape(h_e)
    s = tf.broadcast_to(snr[:, :, None, None], [shape[0], 1, shape[1], shape[2]])
    return tf.stack([tf.math.real(h_e), tf.math.imag(h_e), s[:, 0]], axis=-1)


@keras.saving.register_keras_serializable("linksim")
class CSILink(LazyBuild, keras.layers.Layer):
    """The CSI link of the masking model (Fig. 5): a CNN maps h_e (and the SNR it holds at) to features.

    Two 3x3 convolutions over the N_R x N_T antenna grid, global average
    pooling, a linear layer. Shared by every NI-CFMA of the encoder (each
    projects the result into its own feature space).

    Input: h_e [N, N_R, N_T], tf.complex64; snr [N, 1], tf.float32.
    Output: csi [N, csi_dim], tf.float32.
    """

    def __init__(self, csi_dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.csi_dim = csi_dim
        self.conv1 = keras.layers.Conv2D(csi_dim, 3, padding="same", activation="gelu", name="conv1")
        self.conv2 = keras.layers.Conv2D(csi_dim, 3, padding="same", activation="gelu", name="conv2")
        self.out = keras.layers.Dense(csi_dim, name="out")

    def call(self, h_e: tf.Tensor, snr: tf.Tensor) -> tf.Tensor:
        x = self.conv2(self.conv1(csi_image(h_e, snr)))
        return self.out(tf.reduce_mean(x, axis=[1, 2]))

    def get_config(self) -> dict:
        return {**super().get_config(), "csi_dim": self.csi_dim}


def rank_threshold(scores: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
    """The value below which ``count`` of the scores lie, interpolated between sorted scores.

    Sorting ascending (Fig. 5's "ascending sort"), position count - 1/2 is
    interpolated linearly, so that exactly round(count) scores lie strictly
    below the threshold and the threshold is differentiable in ``count``
    (hence in the mask ratio) and in the scores.

    Input: scores [..., L]; count [...] (float, masked elements).
    Output: threshold [..., 1].
    """
    length = scores.shape[-1]
    ranked = tf.sort(scores, axis=-1)
    pos = tf.clip_by_value(count - 0.5, 0.0, float(length - 1))[..., None]
    lo = tf.floor(pos)
    frac = pos - lo
    lo_i = tf.cast(lo, tf.int32)
    hi_i = tf.minimum(lo_i + 1, length - 1)
    batch = len(scores.shape) - 1
    a = tf.gather(ranked, lo_i, batch_dims=batch)
    b = tf.gather(ranked, hi_i, batch_dims=batch)
    return a + frac * (b - a)


@keras.saving.register_keras_serializable("linksim")
class NICFMA(WindowAttention):
    """Non-invasive CSI fusion multi-head attention (Fig. 4, eqs. 6-8): window attention with a learned masking map.

    The CSI fusion masking model (Fig. 5): the GRN scores each token's
    semantic importance, a pairwise importance map (importance_i · importance_j)
    and the projected CSI features are concatenated per token pair and mapped
    by two nonlinear layers to a score per head and pair; the scores are
    ranked (softmax then ascending sort: softmax is monotone, so the logits
    rank the same) and the round(m D^2) lowest pairs are masked (eq. 6,
    M = 0). The masked logits are M ⊙ Q K^T (eq. 7, a masked logit becomes 0,
    not -inf) divided by a learned ρ per head (eq. 8, initialised to
    sqrt(d)); V is untouched, so the semantics are never overwritten by the
    CSI ("non-invasive"). Gradients reach the masking model and m through a
    straight-through estimator: the forward pass uses the hard 0/1 mask, the
    backward pass sigmoid((s - t) / τ) with t the rank threshold
    (:func:`rank_threshold`).

    With ``ratio`` None (or 0) and ρ = sqrt(d) it is exactly
    :class:`~linksim.nn.swin.WindowAttention` with the same weights (tested).

    Parameters
    ----------
    dim, heads, window : int
        As :class:`WindowAttention`.
    mask_dim : int
        Width of the masking model.

    Input
    -----
    x : [N * nW, D, C], tf.float32
        Windows.
    attn_mask : None or [nW, D, D], tf.float32
        Shifted-window mask.
    csi : [N * nW, csi_dim], tf.float32
        :class:`CSILink` features of each window's image.
    ratio : None or [N * nW], tf.float32
        Mask ratio m of each window's image.

    Output
    ------
    y : [N * nW, D, C], tf.float32
    """

    def __init__(self, dim: int, heads: int, window: int, mask_dim: int = 8,
                 temperature: float = 1.0, **kwargs) -> None:
        super().__init__(dim, heads, window, **kwargs)
        self.mask_dim, self.temperature = mask_dim, temperature
        self.grn = GatedResidualNetwork(mask_dim, name="grn")
        self.sem_i = keras.layers.Dense(mask_dim, use_bias=False, name="sem_i")
        self.sem_j = keras.layers.Dense(mask_dim, use_bias=False, name="sem_j")
        self.csi_proj = keras.layers.Dense(mask_dim, name="csi_proj")
        self.fuse = keras.layers.Dense(mask_dim, activation="gelu", name="fuse")
        self.score = keras.layers.Dense(heads, name="score")

    def build(self, input_shape) -> None:
        super().build(input_shape)
        self.rho = self.add_weight(shape=(self.heads,), name="rho", initializer=keras.initializers.Constant(
            math.sqrt(self.dim // self.heads)))

    def masking_map(self, x: tf.Tensor, csi: tf.Tensor, ratio: tf.Tensor) -> tf.Tensor:
        """M [N * nW, heads, D, D] in {0, 1} (forward), straight-through gradients (class docstring)."""
        n = self.window * self.window
        imp = self.grn(x)                                                   # [N nW, D, mask_dim]
        sem = tf.einsum("nid,njd->nij", self.sem_i(imp), self.sem_j(imp)) / math.sqrt(self.mask_dim)
        c = self.csi_proj(csi)[:, None, None, :]                            # [N nW, 1, 1, mask_dim]
        pair = tf.concat([sem[..., None], tf.broadcast_to(c, tf.concat([tf.shape(sem), [self.mask_dim]], 0))], -1)
        s = self.score(self.fuse(pair))                                     # [N nW, D, D, heads]
        s = tf.reshape(tf.transpose(s, [0, 3, 1, 2]), [-1, self.heads, n * n])
        count = tf.broadcast_to(ratio[:, None] * float(n * n), tf.shape(s)[:2])
        t = rank_threshold(s, count)                                        # [N nW, heads, 1]
        hard = tf.cast(s >= t, s.dtype)                                     # eq. 6: 0 = masked
        soft = tf.sigmoid((s - t) / self.temperature)
        mask = hard + (soft - tf.stop_gradient(soft))                       # exactly hard forward
        return tf.reshape(mask, [-1, self.heads, n, n])

    def call(self, x: tf.Tensor, attn_mask: tf.Tensor | None = None, csi: tf.Tensor | None = None,
             ratio: tf.Tensor | None = None) -> tf.Tensor:
        q, k, v = self.project(x)
        qk = tf.matmul(q, k, transpose_b=True)                              # Q K^T [N nW, h, D, D]
        if ratio is not None:
            qk = self.masking_map(x, csi, ratio) * qk                       # eq. 7
        return self.attend(qk / self.rho[None, :, None, None], v, attn_mask)  # eq. 8

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_dim": self.mask_dim, "temperature": self.temperature}


@keras.saving.register_keras_serializable("linksim")
class CSIFusionSwinBlock(SwinBlock):
    """A Swin block whose attention is :class:`NICFMA` (Fig. 3(b), the second of two successive blocks).

    Input: x [N, H, W, C]; csi [N, csi_dim]; ratio [N] (or None: plain attention), tf.float32.
    Output: [N, H, W, C], tf.float32.
    """

    def __init__(self, dim: int, heads: int, window: int, resolution, shift: int = 0,
                 mlp_ratio: float = 4.0, mask_dim: int = 8, **kwargs) -> None:
        self.mask_dim = mask_dim                 # read by make_attention inside SwinBlock.__init__
        super().__init__(dim, heads, window, resolution, shift, mlp_ratio, **kwargs)

    def make_attention(self, dim: int, heads: int, window: int) -> keras.layers.Layer:
        return NICFMA(dim, heads, window, self.mask_dim, name="attn")

    def call(self, x: tf.Tensor, csi: tf.Tensor | None = None,
             ratio: tf.Tensor | None = None) -> tf.Tensor:
        if ratio is None:
            return self.residual(x, lambda w: self.attn(w, self._mask))
        nw = self.windows_per_image
        csi_w, ratio_w = tf.repeat(csi, nw, axis=0), tf.repeat(ratio, nw, axis=0)
        return self.residual(x, lambda w: self.attn(w, self._mask, csi=csi_w, ratio=ratio_w))

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_dim": self.mask_dim}


@keras.saving.register_keras_serializable("linksim")
class CSIFusionSwinStage(LazyBuild, keras.layers.Layer):
    """A Swin stage whose odd blocks are :class:`CSIFusionSwinBlock` (W-MSA / SW-MSA alternating as Swin).

    Input: x [N, H, W, dim]; csi [N, csi_dim]; ratio [N], tf.float32.  Output: [N, H, W, dim].
    """

    def __init__(self, dim: int, depth: int, heads: int, window: int, resolution,
                 mlp_ratio: float = 4.0, mask_dim: int = 8, **kwargs) -> None:
        super().__init__(**kwargs)
        self.args = dict(dim=dim, depth=depth, heads=heads, window=window,
                         resolution=tuple(resolution), mlp_ratio=mlp_ratio, mask_dim=mask_dim)
        self.blocks = []
        for i in range(depth):
            common = dict(shift=(window // 2) * (i % 2), mlp_ratio=mlp_ratio, name=f"block{i}")
            self.blocks.append(CSIFusionSwinBlock(dim, heads, window, resolution, mask_dim=mask_dim,
                                                  **common) if i % 2 else
                               SwinBlock(dim, heads, window, resolution, **common))

    def call(self, x: tf.Tensor, csi: tf.Tensor, ratio: tf.Tensor) -> tf.Tensor:
        for block in self.blocks:
            x = block(x, csi, ratio) if isinstance(block, CSIFusionSwinBlock) else block(x)
        return x

    def get_config(self) -> dict:
        return {**super().get_config(), **self.args}


def _expand_to(gate: tf.Tensor, rank: int) -> tf.Tensor:
    """[N, C] -> [N, 1, ..., 1, C] of ``rank`` dimensions."""
    for _ in range(rank - 2):
        gate = gate[:, None]
    return gate


@keras.saving.register_keras_serializable("linksim")
class ContextGate(keras.layers.Layer):
    """Channel-wise gate from side information: ADJSCC's attention-feature (AF) module, WITT's ModNet step.

    x <- x ⊙ σ(W_2 ReLU(W_1 [mean(x), context])), the mean over every axis but
    the batch and the channels (Xu et al. 2022's AF module; WITT's Channel
    ModNet stacks such SNR-driven gates).

    Input: x [N, ..., C] tf.float32; context [N, c] tf.float32.  Output: like x.
    """

    def __init__(self, hidden: int = 16, **kwargs) -> None:
        super().__init__(**kwargs)
        self.hidden = hidden
        self.fc1 = keras.layers.Dense(hidden, activation="relu", name="fc1")

    def build(self, x_shape, context_shape=None) -> None:
        self.fc2 = keras.layers.Dense(int(x_shape[-1]), activation="sigmoid", name="fc2")

    def call(self, x: tf.Tensor, context: tf.Tensor) -> tf.Tensor:
        pooled = tf.reduce_mean(x, axis=list(range(1, len(x.shape) - 1)))
        gate = self.fc2(self.fc1(tf.concat([pooled, context], -1)))
        return x * _expand_to(gate, len(x.shape))

    def get_config(self) -> dict:
        return {**super().get_config(), "hidden": self.hidden}


@keras.saving.register_keras_serializable("linksim")
class ChannelModNet(keras.layers.Layer):
    """WITT's Channel ModNet: ``layers`` x (linear + GELU, SNR-driven :class:`ContextGate`) over the tokens.

    Input: x [N, T, C]; context [N, c] (the SNR features), tf.float32.  Output: [N, T, C].
    """

    def __init__(self, layers: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_layers = layers
        self.gates = [ContextGate(name=f"gate{i}") for i in range(layers)]

    def build(self, x_shape, context_shape=None) -> None:
        self.linears = [keras.layers.Dense(int(x_shape[-1]), activation="gelu", name=f"linear{i}")
                        for i in range(self.num_layers)]

    def call(self, x: tf.Tensor, context: tf.Tensor) -> tf.Tensor:
        for linear, gate in zip(self.linears, self.gates):
            x = x + gate(linear(x), context)
        return x

    def get_config(self) -> dict:
        return {**super().get_config(), "layers": self.num_layers}


def to_complex(x: tf.Tensor) -> tf.Tensor:
    """[N, 2n] real -> [N, n] complex (first half real parts)."""
    n = x.shape[-1] // 2
    return tf.complex(x[..., :n], x[..., n:])


def to_real(z: tf.Tensor) -> tf.Tensor:
    """[N, n] complex -> [N, 2n] real (inverse of :func:`to_complex`)."""
    return tf.concat([tf.math.real(z), tf.math.imag(z)], -1)


@keras.saving.register_keras_serializable("linksim")
class LCFSCEncoder(LazyBuild, keras.layers.Layer):
    """f_e and g_a (eq. 2, Fig. 3(a)): Swin stages with NI-CFMA in stage ``cfma_stage``, Channel ModNet, symbols.

    Patch embedding, the stages (patch merging between them; with
    ``fusion`` the stage ``cfma_stage`` is a :class:`CSIFusionSwinStage`),
    LN, the Channel ModNet (SNR-adaptive) on the bottleneck tokens and one
    linear map of the flattened tokens to the 2 n_sym real values of the
    complex codeword (WITT's g_a; without ``fusion`` this is WITT).

    Input
    -----
    images : [N, S, S, 3], tf.float32 in [0, 1]
    h_e : [N, N_R, N_T], tf.complex64 (estimated CSI; unused without fusion)
    snr : [N, 1], tf.float32 (:func:`linksim.nn.conditioning.snr_feature`)
    ratio : None or [N], tf.float32 (mask ratio m)

    Output
    ------
    z : [N, num_symbols], tf.complex64 (not yet power-normalised)
    """

    def __init__(self, image_size: int, patch_size: int, window_size: int, embed_dims, depths,
                 heads, mlp_ratio: float, num_symbols: int, fusion: bool, cfma_stage: int,
                 mask_dim: int, csi_dim: int, modnet_layers: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.args = dict(image_size=image_size, patch_size=patch_size, window_size=window_size,
                         embed_dims=list(embed_dims), depths=list(depths), heads=list(heads),
                         mlp_ratio=mlp_ratio, num_symbols=num_symbols, fusion=fusion,
                         cfma_stage=cfma_stage, mask_dim=mask_dim, csi_dim=csi_dim,
                         modnet_layers=modnet_layers)
        def make_stage(i, dim, depth, head, window, resolution, ratio, name):
            if fusion and i == cfma_stage:
                return CSIFusionSwinStage(dim, depth, head, window, resolution, ratio,
                                          mask_dim=mask_dim, name=name)
            return SwinStage(dim, depth, head, window, resolution, ratio, name=name)

        self.embed = PatchEmbedding(patch_size, embed_dims[0], name="patch_embed")
        self.stages, self.merges, side = hierarchical_stages(
            image_size, patch_size, window_size, embed_dims, depths, heads, mlp_ratio, make_stage)
        self.tokens = side * side
        self.csi_link = CSILink(csi_dim, name="csi_link") if fusion else None
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")
        self.modnet = ChannelModNet(modnet_layers, name="modnet")
        self.to_symbols = keras.layers.Dense(2 * num_symbols, name="to_symbols")

    def call(self, images: tf.Tensor, h_e: tf.Tensor, snr: tf.Tensor,
             ratio: tf.Tensor | None = None) -> tf.Tensor:
        csi = self.csi_link(h_e, snr) if self.csi_link is not None else None
        x = self.embed(images)
        for i, stage in enumerate(self.stages):
            if i:
                x = self.merges[i - 1](x)
            x = stage(x, csi, ratio) if isinstance(stage, CSIFusionSwinStage) else stage(x)
        x = self.norm(tf.reshape(x, [-1, self.tokens, x.shape[-1]]))
        x = self.modnet(x, snr)
        return to_complex(self.to_symbols(tf.reshape(x, [-1, self.tokens * x.shape[-1]])))

    @property
    def cfma_layers(self) -> list[NICFMA]:
        """The NI-CFMA modules (empty without fusion)."""
        return [b.attn for s in self.stages if isinstance(s, CSIFusionSwinStage)
                for b in s.blocks if isinstance(b, CSIFusionSwinBlock)]

    def get_config(self) -> dict:
        return {**super().get_config(), **self.args}


@keras.saving.register_keras_serializable("linksim")
class LCFSCDecoder(LazyBuild, keras.layers.Layer):
    """g_s and f_d (eq. 4): linear map to the bottleneck tokens, Channel ModNet, the Swin decoder.

    Input: y [N, 2 num_symbols] tf.float32 (detected symbols, real and imaginary parts);
    context [N, c] tf.float32 (SNR and per-stream SNR features).
    Output: images [N, S, S, 3], tf.float32 in [0, 1].
    """

    def __init__(self, image_size: int, patch_size: int, window_size: int, embed_dims, depths,
                 heads, mlp_ratio: float, modnet_layers: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.args = dict(image_size=image_size, patch_size=patch_size, window_size=window_size,
                         embed_dims=list(embed_dims), depths=list(depths), heads=list(heads),
                         mlp_ratio=mlp_ratio, modnet_layers=modnet_layers)
        side = image_size // patch_size // 2 ** (len(embed_dims) - 1)
        self.tokens, self.top = side * side, embed_dims[-1]
        self.from_symbols = keras.layers.Dense(self.tokens * self.top, name="from_symbols")
        self.modnet = ChannelModNet(modnet_layers, name="modnet")
        self.swin = SwinImageDecoder(image_size, patch_size, window_size, embed_dims, depths,
                                     heads, mlp_ratio, name="swin")

    def call(self, y: tf.Tensor, context: tf.Tensor) -> tf.Tensor:
        x = tf.reshape(self.from_symbols(y), [-1, self.tokens, self.top])
        return self.swin(self.modnet(x, context))

    def get_config(self) -> dict:
        return {**super().get_config(), **self.args}


@keras.saving.register_keras_serializable("linksim")
class RCVAE(keras.layers.Layer):
    """The recurrent conditional VAE ζ(m, ȳ) (Fig. 8, eqs. 14-23): proxy codewords + stable m -> m*.

    - d_a(ȳ, m) -> posterior q(z | ȳ, m) = N(h_μ, diag exp(h_σ));
    - d_s(m) -> prior p(z | m) = N(f_μ, diag exp(f_σ)) (Fig. 8: "the encoder
      with only m input"; eq. 22 writes f(ȳ), which would not be a prior
      given m alone);
    - z = h_μ + ε ⊙ exp(h_σ / 2) (eq. 18 with h_σ a log-variance; the mean
      h_μ when not training);
    - d_p(z) -> ỹ, L_rec = ||ỹ - ȳ||^2 (eq. 21, mean over the values);
    - L_reg = KL(q || p) (eq. 22, with the -1 per dimension that makes it a
      KL divergence, >= 0, 0 iff q = p; the paper's printed sum omits it);
    - d_q(z) -> β = softmax(...), m* = M̄ β^T (eq. 19): m* always lies in
      [min M̄, max M̄].

    m enters the networks as m / max(M̄) (order 1).

    Input
    -----
    y_bar : [N, 2 n_sym], tf.float32 (proxy codewords ȳ)
    m : [N], tf.float32 (the stable ratio, the condition)

    Output
    ------
    dict: ``ratio`` m* [N]; ``beta`` [N, K]; ``rec`` L_rec [N]; ``kl`` L_reg [N], tf.float32.
    """

    def __init__(self, latent: int, width: int, mask_ratios, **kwargs) -> None:
        super().__init__(**kwargs)
        self.latent, self.width, self.mask_ratios = latent, width, tuple(float(m) for m in mask_ratios)
        self.scale = max(self.mask_ratios)
        dense = keras.layers.Dense
        self.d_a = [dense(width, activation="gelu", name="d_a1"), dense(2 * latent, name="d_a2")]
        self.d_s = [dense(width, activation="gelu", name="d_s1"), dense(2 * latent, name="d_s2")]
        self.d_p1 = dense(width, activation="gelu", name="d_p1")
        self.d_q = [dense(width, activation="gelu", name="d_q1"), dense(len(self.mask_ratios), name="d_q2")]
        self._m_bar = tf.constant(np.array(self.mask_ratios, np.float32))

    def build(self, y_bar_shape, m_shape=None) -> None:
        self.d_p2 = keras.layers.Dense(int(y_bar_shape[-1]), name="d_p2")

    @staticmethod
    def kl(h_mu, h_logvar, f_mu, f_logvar) -> tf.Tensor:
        """KL(N(h_μ, e^{h_σ}) || N(f_μ, e^{f_σ})) summed over the latent: [N] (eq. 22 with its -1)."""
        terms = (f_logvar - h_logvar + tf.exp(h_logvar - f_logvar)
                 + tf.square(f_mu - h_mu) / tf.exp(f_logvar) - 1.0)
        return 0.5 * tf.reduce_sum(terms, axis=-1)

    def call(self, y_bar: tf.Tensor, m: tf.Tensor, training: bool = False) -> dict[str, tf.Tensor]:
        cond = (m / self.scale)[:, None]
        post = self.d_a[1](self.d_a[0](tf.concat([y_bar, cond], -1)))
        prior = self.d_s[1](self.d_s[0](cond))
        h_mu, h_logvar = tf.split(tf.clip_by_value(post, -20.0, 20.0), 2, axis=-1)
        f_mu, f_logvar = tf.split(tf.clip_by_value(prior, -20.0, 20.0), 2, axis=-1)
        if training:
            z = h_mu + tf.random.normal(tf.shape(h_mu)) * tf.exp(0.5 * h_logvar)
        else:
            z = h_mu
        y_tilde = self.d_p2(self.d_p1(z))
        beta = tf.nn.softmax(self.d_q[1](self.d_q[0](z)), axis=-1)
        return {"ratio": tf.linalg.matvec(beta, self._m_bar), "beta": beta,
                "rec": tf.reduce_mean(tf.square(y_tilde - y_bar), axis=-1),
                "kl": self.kl(h_mu, h_logvar, f_mu, f_logvar)}

    def get_config(self) -> dict:
        return {**super().get_config(), "latent": self.latent, "width": self.width,
                "mask_ratios": list(self.mask_ratios)}


@keras.saving.register_keras_serializable("linksim")
class ADJSCCEncoder(LazyBuild, keras.layers.Layer):
    """ADJSCC's encoder (Xu et al. 2022), baseline: CNN with an AF module after every convolution.

    Four 5x5 convolutions (``width`` channels, strides 2, 2, 1, 1, PReLU),
    each followed by a :class:`ContextGate` on the side information
    [SNR, Re/Im vec(h_e)] (ADJSCC's SNR attention, the MIMO CSI blended in
    directly, as the paper's baseline does), then a linear map of the
    S/4 x S/4 x width map to the codeword.

    Input: images [N, S, S, 3]; h_e [N, N_R, N_T] complex; snr [N, 1].
    Output: z [N, num_symbols], tf.complex64.
    """

    def __init__(self, width: int, num_symbols: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.width, self.num_symbols = width, num_symbols
        self.convs = [keras.layers.Conv2D(width, 5, strides=s, padding="same", name=f"conv{i}")
                      for i, s in enumerate((2, 2, 1, 1))]
        self.acts = [keras.layers.PReLU(shared_axes=[1, 2], name=f"prelu{i}") for i in range(4)]
        self.gates = [ContextGate(name=f"af{i}") for i in range(4)]
        self.to_symbols = keras.layers.Dense(2 * num_symbols, name="to_symbols")

    def call(self, images: tf.Tensor, h_e: tf.Tensor, snr: tf.Tensor, ratio=None) -> tf.Tensor:
        context = tf.concat([snr, csi_vector(h_e)], -1)
        x = images
        for conv, act, gate in zip(self.convs, self.acts, self.gates):
            x = gate(act(conv(x)), context)
        return to_complex(self.to_symbols(tf.reshape(x, [tf.shape(x)[0], -1])))

    def get_config(self) -> dict:
        return {**super().get_config(), "width": self.width, "num_symbols": self.num_symbols}


def csi_vector(h_e: tf.Tensor) -> tf.Tensor:
    """[N, N_R, N_T] complex -> [N, 2 N_R N_T] (Re, Im of vec(h_e))."""
    flat = tf.reshape(h_e, [tf.shape(h_e)[0], h_e.shape[1] * h_e.shape[2]])
    return to_real(flat)


@keras.saving.register_keras_serializable("linksim")
class ADJSCCDecoder(LazyBuild, keras.layers.Layer):
    """ADJSCC's decoder, the mirror of :class:`ADJSCCEncoder` (transposed convolutions, AF modules, sigmoid).

    Input: y [N, 2 num_symbols]; context [N, c] (SNR, per-stream SNRs, Re/Im vec(h_e)), tf.float32.
    Output: images [N, S, S, 3], tf.float32 in [0, 1].
    """

    def __init__(self, width: int, image_size: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.width, self.image_size = width, image_size
        self.side = image_size // 4
        self.from_symbols = keras.layers.Dense(self.side * self.side * width, name="from_symbols")
        self.deconvs = [keras.layers.Conv2DTranspose(c, 5, strides=s, padding="same", name=f"deconv{i}")
                        for i, (c, s) in enumerate(((width, 1), (width, 1), (width, 2), (3, 2)))]
        self.acts = [keras.layers.PReLU(shared_axes=[1, 2], name=f"prelu{i}") for i in range(3)]
        self.gates = [ContextGate(name=f"af{i}") for i in range(4)]

    def call(self, y: tf.Tensor, context: tf.Tensor) -> tf.Tensor:
        x = tf.reshape(self.from_symbols(y), [-1, self.side, self.side, self.width])
        x = self.gates[0](x, context)
        for i in range(3):
            x = self.gates[i + 1](self.acts[i](self.deconvs[i](x)), context)
        return tf.sigmoid(self.deconvs[3](x))

    def get_config(self) -> dict:
        return {**super().get_config(), "width": self.width, "image_size": self.image_size}
