"""Swin Transformer blocks (Liu et al. 2021) as Keras 3 layers: windows, shifted windows, merging, splitting.

Written for linksim from the Swin paper's equations (read the public Swin and
WITT implementations only to understand them; no code copied). Shared by the
seed-000 JSCBF system (image semantic encoder/decoder) and the seed-002 LCFSC
system (which extends :class:`WindowAttention` into its NI-CFMA).

Feature maps stay in the channels-last image layout [batch, H, W, C]
throughout; attention reshapes them into windows internally.

- :func:`window_partition` / :func:`window_reverse`: [B, H, W, C] <-> windows
  [B * nW, w*w, C];
- :func:`shifted_window_mask`: the additive attention mask of SW-MSA, which
  keeps tokens that the cyclic shift brought together from different image
  regions from attending to each other;
- :func:`relative_position_index`: index into the (2w-1)^2 relative-position
  bias table for every pair of tokens of a window;
- :class:`PatchEmbedding` (patch partition + linear embedding),
  :class:`WindowAttention` (W-MSA with relative position bias, optional mask),
  :class:`SwinBlock` (LN, (S)W-MSA, residual, LN, MLP, residual),
  :class:`SwinStage` (``depth`` blocks, alternating W-MSA / SW-MSA),
  :class:`PatchMerging` (2x2 neighbours concatenated -> LN -> linear; the
  encoder's downsampling), :class:`PatchSplitting` (linear -> 2x2 neighbours
  -> LN; the decoder's upsampling, the inverse of merging, "patch
  expanding"), :class:`PatchUnembedding` (linear de-embedding to pixels);
- :class:`TokenProjection` (separable token x channel linear map) and
  :class:`SwinImageDecoder` (tokens -> image: the Swin decoder of seeds 000 and 002).
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

MASK_VALUE = -100.0
"""Added to the attention logits of token pairs that must not attend (softmax weight ~ e^-100)."""


class LazyBuild:
    """Mixin for a layer made of other layers: ``build`` only marks it built, its sublayers build on first use.

    Without a ``build``, Keras builds a composite layer at its first call by
    tracing the whole call symbolically first, and every nested composite
    layer does the same inside that trace: building the 4-stage Swin codec
    of seed 002 eagerly took 8 s that way, under 1 s with this mixin.
    """

    def build(self, input_shape=None) -> None:
        self.built = True


def window_partition(x: tf.Tensor, window: int) -> tf.Tensor:
    """Non-overlapping ``window`` x ``window`` windows of a feature map.

    Input: x [B, H, W, C] (H, W multiples of ``window``).
    Output: [B * (H/w) * (W/w), w*w, C], windows in row-major order, tokens
    row-major inside each window.
    """
    shape = tf.shape(x)
    b, h, w_, c = shape[0], shape[1], shape[2], x.shape[-1]
    x = tf.reshape(x, [b, h // window, window, w_ // window, window, c])
    x = tf.transpose(x, [0, 1, 3, 2, 4, 5])
    return tf.reshape(x, [-1, window * window, c])


def window_reverse(windows: tf.Tensor, window: int, height: int, width: int) -> tf.Tensor:
    """Inverse of :func:`window_partition`.

    Input: windows [B * nW, w*w, C]; height, width of the feature map.
    Output: x [B, height, width, C].
    """
    c = windows.shape[-1]
    nh, nw = height // window, width // window
    x = tf.reshape(windows, [-1, nh, nw, window, window, c])
    x = tf.transpose(x, [0, 1, 3, 2, 4, 5])
    return tf.reshape(x, [-1, height, width, c])


def relative_position_index(window: int) -> np.ndarray:
    """[w*w, w*w] int32: index of (dy + w - 1) * (2w - 1) + (dx + w - 1) for every token pair."""
    coords = np.stack(np.meshgrid(np.arange(window), np.arange(window), indexing="ij")).reshape(2, -1)
    rel = coords[:, :, None] - coords[:, None, :] + (window - 1)           # [2, w*w, w*w]
    return (rel[0] * (2 * window - 1) + rel[1]).astype(np.int32)


def shifted_window_mask(height: int, width: int, window: int, shift: int) -> np.ndarray:
    """Additive SW-MSA mask [nW, w*w, w*w], float32: 0 within a region, :data:`MASK_VALUE` across.

    After the cyclic shift by ``-shift`` the last windows of each row/column
    hold tokens of up to 3 x 3 different regions of the original map (the
    wrapped-around border); tokens of different regions get the mask value.
    ``shift`` 0: all zeros (plain W-MSA).
    """
    labels = np.zeros((height, width), np.int32)
    if shift:
        cuts = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
        region = 0
        for hs in cuts:
            for ws in cuts:
                labels[hs, ws] = region
                region += 1
    win = labels.reshape(height // window, window, width // window, window)
    win = win.transpose(0, 2, 1, 3).reshape(-1, window * window)          # [nW, w*w]
    return np.where(win[:, :, None] == win[:, None, :], 0.0, MASK_VALUE).astype(np.float32)


@keras.saving.register_keras_serializable("linksim")
class PatchEmbedding(LazyBuild, keras.layers.Layer):
    """Patch partition + linear embedding: every ``patch`` x ``patch`` pixel block -> ``dim`` features, LN.

    Input: images [B, H, W, 3], tf.float32.
    Output: [B, H/patch, W/patch, dim], tf.float32.
    """

    def __init__(self, patch: int, dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.patch, self.dim = patch, dim
        # a stride-p convolution with a p x p kernel is exactly a linear map of each flattened patch
        self.proj = keras.layers.Conv2D(dim, patch, strides=patch, name="proj")
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return self.norm(self.proj(x))

    def get_config(self) -> dict:
        return {**super().get_config(), "patch": self.patch, "dim": self.dim}


@keras.saving.register_keras_serializable("linksim")
class PatchUnembedding(LazyBuild, keras.layers.Layer):
    """Linear de-embedding: every token -> a ``patch`` x ``patch`` block of ``channels`` pixel values.

    Input: [B, h, w, C], tf.float32.
    Output: [B, h * patch, w * patch, channels], tf.float32 (no activation).
    """

    def __init__(self, patch: int, channels: int = 3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.patch, self.channels = patch, channels
        self.proj = keras.layers.Dense(patch * patch * channels, name="proj")

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.depth_to_space(self.proj(x), self.patch)

    def get_config(self) -> dict:
        return {**super().get_config(), "patch": self.patch, "channels": self.channels}


@keras.saving.register_keras_serializable("linksim")
class WindowAttention(keras.layers.Layer):
    """Window multi-head self-attention with a learned relative position bias (Swin eq. 4).

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d) + B + mask) V inside every
    window, B[i, j] = table[index(i, j)] per head (:func:`relative_position_index`).

    Parameters
    ----------
    dim : int
        Channels C (a multiple of ``heads``).
    heads : int
        Attention heads.
    window : int
        Window side w.

    Input
    -----
    x : [B * nW, w*w, C], tf.float32
        Windows (:func:`window_partition`).
    attn_mask : None or [nW, w*w, w*w], tf.float32
        Additive mask (:func:`shifted_window_mask`), the same for every image.

    Output
    ------
    y : [B * nW, w*w, C], tf.float32
    """

    def __init__(self, dim: int, heads: int, window: int, **kwargs) -> None:
        super().__init__(**kwargs)
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
        self.dim, self.heads, self.window = dim, heads, window
        self.qkv = keras.layers.Dense(3 * dim, name="qkv")
        self.proj = keras.layers.Dense(dim, name="proj")
        self._index = relative_position_index(window).reshape(-1)

    def build(self, input_shape) -> None:
        self.bias_table = self.add_weight(
            shape=((2 * self.window - 1) ** 2, self.heads), name="relative_position_bias",
            initializer=keras.initializers.TruncatedNormal(stddev=0.02))
        self.qkv.build(input_shape)
        self.proj.build(tuple(input_shape[:-1]) + (self.dim,))

    def call(self, x: tf.Tensor, attn_mask: tf.Tensor | None = None) -> tf.Tensor:
        q, k, v = self.project(x)
        logits = tf.matmul(q * (q.shape[-1] ** -0.5), k, transpose_b=True)   # [B*nW, h, n, n]
        return self.attend(logits, v, attn_mask)

    def project(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Queries, keys, values [B*nW, heads, w*w, dim/heads] of the windows x [B*nW, w*w, C]."""
        n = self.window * self.window
        qkv = tf.reshape(self.qkv(x), [-1, n, 3, self.heads, self.dim // self.heads])
        qkv = tf.transpose(qkv, [2, 0, 3, 1, 4])                             # [3, B*nW, h, n, hd]
        return qkv[0], qkv[1], qkv[2]

    def attend(self, logits: tf.Tensor, v: tf.Tensor, attn_mask: tf.Tensor | None) -> tf.Tensor:
        """softmax(logits + B + mask) V, heads merged and projected: [B*nW, w*w, C].

        ``logits`` [B*nW, heads, n, n] are the scaled Q K^T (a subclass may
        change them first: seed 002's NI-CFMA masks them).
        """
        n = self.window * self.window
        bias = tf.gather(self.bias_table, self._index)                        # [n*n, h]
        logits += tf.transpose(tf.reshape(bias, [n, n, self.heads]), [2, 0, 1])[None]
        if attn_mask is not None:
            nw = attn_mask.shape[0]
            logits = tf.reshape(logits, [-1, nw, self.heads, n, n]) + attn_mask[None, :, None]
            logits = tf.reshape(logits, [-1, self.heads, n, n])
        out = tf.matmul(tf.nn.softmax(logits, axis=-1), v)                   # [B*nW, h, n, hd]
        out = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [-1, n, self.dim])
        return self.proj(out)

    def get_config(self) -> dict:
        return {**super().get_config(), "dim": self.dim, "heads": self.heads, "window": self.window}


@keras.saving.register_keras_serializable("linksim")
class SwinBlock(LazyBuild, keras.layers.Layer):
    """One Swin block: x + (S)W-MSA(LN(x)), then x + MLP(LN(x)) (Swin eq. 3).

    ``shift`` > 0 makes it an SW-MSA block: the map is rolled by -shift before
    the window attention (with :func:`shifted_window_mask`) and back after.
    A window as large as the map is clipped to it and not shifted (Swin's rule).

    Parameters
    ----------
    dim, heads, window : int
        As :class:`WindowAttention`.
    resolution : (int, int)
        Feature map size (H, W), multiples of the window.
    shift : int
        Cyclic shift (0: W-MSA; Swin uses window // 2).
    mlp_ratio : float
        MLP hidden width / dim.

    Input: x [B, H, W, C], tf.float32.  Output: [B, H, W, C], tf.float32.
    """

    def __init__(self, dim: int, heads: int, window: int, resolution: tuple[int, int],
                 shift: int = 0, mlp_ratio: float = 4.0, **kwargs) -> None:
        super().__init__(**kwargs)
        resolution = (int(resolution[0]), int(resolution[1]))
        if min(resolution) <= window:
            window, shift = min(resolution), 0
        if resolution[0] % window or resolution[1] % window:
            raise ValueError(f"feature map {resolution} is not a multiple of the window {window}")
        self.dim, self.heads, self.window, self.shift = dim, heads, window, shift
        self.resolution, self.mlp_ratio = resolution, mlp_ratio
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm1")
        self.attn = self.make_attention(dim, heads, window)
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm2")
        hidden = int(dim * mlp_ratio)
        self.fc1 = keras.layers.Dense(hidden, activation="gelu", name="fc1")
        self.fc2 = keras.layers.Dense(dim, name="fc2")
        self._mask = (tf.constant(shifted_window_mask(*resolution, window, shift))
                      if shift else None)

    def make_attention(self, dim: int, heads: int, window: int) -> keras.layers.Layer:
        """The block's attention layer (a subclass may return an extended :class:`WindowAttention`)."""
        return WindowAttention(dim, heads, window, name="attn")

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return self.residual(x, lambda windows: self.attn(windows, self._mask))

    @property
    def windows_per_image(self) -> int:
        return (self.resolution[0] // self.window) * (self.resolution[1] // self.window)

    def residual(self, x: tf.Tensor, attend) -> tf.Tensor:
        """Swin eq. 3 around ``attend(windows [B*nW, w*w, C]) -> [B*nW, w*w, C]`` (shift, windows, MLP)."""
        h, w = self.resolution
        y = self.norm1(x)
        if self.shift:
            y = tf.roll(y, shift=[-self.shift, -self.shift], axis=[1, 2])
        y = attend(window_partition(y, self.window))
        y = window_reverse(y, self.window, h, w)
        if self.shift:
            y = tf.roll(y, shift=[self.shift, self.shift], axis=[1, 2])
        x = x + y
        return x + self.fc2(self.fc1(self.norm2(x)))

    def get_config(self) -> dict:
        return {**super().get_config(), "dim": self.dim, "heads": self.heads,
                "window": self.window, "resolution": self.resolution, "shift": self.shift,
                "mlp_ratio": self.mlp_ratio}


@keras.saving.register_keras_serializable("linksim")
class SwinStage(LazyBuild, keras.layers.Layer):
    """``depth`` Swin blocks at one resolution, W-MSA and SW-MSA (shift window // 2) alternating.

    Input: x [B, H, W, dim], tf.float32.  Output: [B, H, W, dim], tf.float32.
    """

    def __init__(self, dim: int, depth: int, heads: int, window: int,
                 resolution: tuple[int, int], mlp_ratio: float = 4.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dim, self.depth, self.heads, self.window = dim, depth, heads, window
        self.resolution, self.mlp_ratio = tuple(resolution), mlp_ratio
        self.blocks = [SwinBlock(dim, heads, window, resolution, shift=(window // 2) * (i % 2),
                                 mlp_ratio=mlp_ratio, name=f"block{i}") for i in range(depth)]

    def call(self, x: tf.Tensor) -> tf.Tensor:
        for block in self.blocks:
            x = block(x)
        return x

    def get_config(self) -> dict:
        return {**super().get_config(), "dim": self.dim, "depth": self.depth, "heads": self.heads,
                "window": self.window, "resolution": self.resolution, "mlp_ratio": self.mlp_ratio}


@keras.saving.register_keras_serializable("linksim")
class PatchMerging(LazyBuild, keras.layers.Layer):
    """Downsampling by 2: each 2 x 2 token neighbourhood concatenated (4C), LN, linear to ``dim``.

    Input: x [B, H, W, C], tf.float32 (H, W even).  Output: [B, H/2, W/2, dim], tf.float32.
    """

    def __init__(self, dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dim = dim
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")
        self.reduction = keras.layers.Dense(dim, use_bias=False, name="reduction")

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return self.reduction(self.norm(tf.nn.space_to_depth(x, 2)))

    def get_config(self) -> dict:
        return {**super().get_config(), "dim": self.dim}


@keras.saving.register_keras_serializable("linksim")
class PatchSplitting(LazyBuild, keras.layers.Layer):
    """Upsampling by 2, the inverse of :class:`PatchMerging`: linear to 4 ``dim``, each token -> 2 x 2 tokens, LN.

    Input: x [B, H, W, C], tf.float32.  Output: [B, 2H, 2W, dim], tf.float32.
    """

    def __init__(self, dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dim = dim
        self.expand = keras.layers.Dense(4 * dim, use_bias=False, name="expand")
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return self.norm(tf.nn.depth_to_space(self.expand(x), 2))

    def get_config(self) -> dict:
        return {**super().get_config(), "dim": self.dim}


def hierarchical_stages(image_size: int, patch_size: int, window: int, embed_dims, depths, heads,
                        mlp_ratio: float, make_stage=None) -> tuple[list, list, int]:
    """A Swin encoder's hierarchy: one stage per entry, patch merging (downsampling by 2) between them.

    ``make_stage(i, dim, depth, heads, window, resolution, mlp_ratio, name)`` builds stage ``i``
    (default :class:`SwinStage`; seed 002 puts its NI-CFMA stage here). Layers are named
    ``stage{i}`` and ``merge{i}``. Returns ``(stages, merges, side)``, ``side`` the last map's.
    """
    side = image_size // patch_size
    stages, merges = [], []
    for i, (dim, depth, head) in enumerate(zip(embed_dims, depths, heads)):
        if i:
            merges.append(PatchMerging(dim, name=f"merge{i}"))
            side //= 2
        if make_stage is None:
            stages.append(SwinStage(dim, depth, head, window, (side, side), mlp_ratio, name=f"stage{i}"))
        else:
            stages.append(make_stage(i, dim, depth, head, window, (side, side), mlp_ratio, f"stage{i}"))
    return stages, merges, side


@keras.saving.register_keras_serializable("linksim")
class TokenProjection(keras.layers.Layer):
    """A separable linear map between two token sequences: tokens T -> T' and channels C -> C'.

    y[t', c'] = sum_t sum_c A[t', t] x[t, c] W[c, c'] + b[c']. Maps the Swin
    encoder's 8 x 8 tokens onto the N_c subcarriers (the paper's "fully
    connected linear layer" to N_c x 256) and back at the UE, with T T' + C C'
    weights instead of the T C T' C' of a dense layer on the flattened map.

    Input: x [B, T, C], tf.float32.  Output: [B, out_tokens, out_dim], tf.float32.
    """

    def __init__(self, out_tokens: int, out_dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.out_tokens, self.out_dim = out_tokens, out_dim
        self.channels = keras.layers.Dense(out_dim, name="channels")

    def build(self, input_shape) -> None:
        t = int(input_shape[-2])
        init = "identity" if t == self.out_tokens else "glorot_uniform"
        self.tokens = self.add_weight(shape=(self.out_tokens, t), initializer=init, name="tokens")
        self.channels.build(input_shape)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return self.channels(tf.einsum("st,btc->bsc", self.tokens, x))

    def get_config(self) -> dict:
        return {**super().get_config(), "out_tokens": self.out_tokens, "out_dim": self.out_dim}


@keras.saving.register_keras_serializable("linksim")
class SwinImageDecoder(LazyBuild, keras.layers.Layer):
    """Semantic decoding (seed 000 Fig. 8, seed 002's f_d): received tokens -> linear to the feature map, Swin stages with patch splitting.

    The UE's N_c x Q complex received symbols are taken as N_c tokens of 2Q
    real values, normalised (LN: the received level depends on the
    beamforming gain and the noise), mapped to the bottleneck's tokens
    (:class:`TokenProjection`), and decoded by the encoder's stages in
    reverse order, patch splitting between them; a linear de-embedding and a
    sigmoid give the pixels.

    Input: y [N, N_c, 2Q], tf.float32 (real, imaginary parts of each user's grid).
    Output: images [N, S, S, 3], tf.float32 in [0, 1].
    """

    def __init__(self, image_size: int, patch_size: int, window_size: int, embed_dims, depths,
                 heads, mlp_ratio: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.args = dict(image_size=image_size, patch_size=patch_size, window_size=window_size,
                         embed_dims=list(embed_dims), depths=list(depths), heads=list(heads),
                         mlp_ratio=mlp_ratio)
        n = len(embed_dims)
        side = image_size // patch_size // 2 ** (n - 1)
        self.side, self.top = side, embed_dims[-1]
        self.norm_in = keras.layers.LayerNormalization(epsilon=1e-5, name="norm_in")
        self.inp = TokenProjection(side * side, embed_dims[-1], name="from_subcarriers")
        self.stages, self.splits = [], []
        for j, i in enumerate(reversed(range(n))):
            if j:
                self.splits.append(PatchSplitting(embed_dims[i], name=f"split{i}"))
                side *= 2
            self.stages.append(SwinStage(embed_dims[i], depths[i], heads[i], window_size,
                                         (side, side), mlp_ratio, name=f"stage{i}"))
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")
        self.out = PatchUnembedding(patch_size, 3, name="unembed")

    def call(self, y: tf.Tensor) -> tf.Tensor:
        x = self.inp(self.norm_in(y))                                         # [N, s*s, C_top]
        x = self.stages[0](tf.reshape(x, [-1, self.side, self.side, self.top]))
        for split, stage in zip(self.splits, self.stages[1:]):
            x = stage(split(x))
        return tf.sigmoid(self.out(self.norm(x)))

    def get_config(self) -> dict:
        return {**super().get_config(), **self.args}
