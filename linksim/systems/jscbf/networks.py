"""Seed 000's semantic networks: Swin image encoder (Fig. 3), CSI extractor (Fig. 4), fusion (Fig. 5), Swin decoder (Fig. 8).

Notation: B slots, K users, N_c subcarriers (``fft_size``), N_t BS antennas,
Q OFDM symbols per image. The Swin and transformer blocks are the shared
ones of :mod:`linksim.nn.swin` and :mod:`linksim.nn.transformer`.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from linksim.nn.swin import (PatchEmbedding, SwinImageDecoder, TokenProjection,
                             hierarchical_stages)
from linksim.nn.transformer import SequenceTransformer


@keras.saving.register_keras_serializable("linksim")
class SwinImageEncoder(keras.layers.Layer):
    """Image semantic extraction (Fig. 3): patch embedding, Swin stages with patch merging, linear to N_c x D.

    Input: images [N, S, S, 3], tf.float32 in [0, 1] (N = B K).
    Output: features [N, N_c, image_dim], tf.float32 (one row per subcarrier).
    """

    def __init__(self, image_size: int, patch_size: int, window_size: int, embed_dims, depths,
                 heads, mlp_ratio: float, num_subcarriers: int, image_dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.args = dict(image_size=image_size, patch_size=patch_size, window_size=window_size,
                         embed_dims=list(embed_dims), depths=list(depths), heads=list(heads),
                         mlp_ratio=mlp_ratio, num_subcarriers=num_subcarriers, image_dim=image_dim)
        self.embed = PatchEmbedding(patch_size, embed_dims[0], name="patch_embed")
        self.stages, self.merges, self.side = hierarchical_stages(
            image_size, patch_size, window_size, embed_dims, depths, heads, mlp_ratio)
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")
        self.out = TokenProjection(num_subcarriers, image_dim, name="to_subcarriers")

    def call(self, images: tf.Tensor) -> tf.Tensor:
        x = self.stages[0](self.embed(images))                                # [N, s, s, C1]
        for merge, stage in zip(self.merges, self.stages[1:]):
            x = stage(merge(x))                                               # [N, s/2, s/2, C2]
        x = self.norm(x)
        return self.out(tf.reshape(x, [-1, self.side * self.side, x.shape[-1]]))

    def get_config(self) -> dict:
        return {**super().get_config(), **self.args}


def csi_real(h_hat: tf.Tensor) -> tf.Tensor:
    """Eq. 8: Ĥ[k] -> [Re Ĥ[k], Im Ĥ[k]].  Input [B, K, N_c, N_t] complex; output [B, K, N_c, 2 N_t] float."""
    return tf.concat([tf.math.real(h_hat), tf.math.imag(h_hat)], axis=-1)


@keras.saving.register_keras_serializable("linksim")
class CSIExtractor(keras.layers.Layer):
    """CSI semantic extraction (Fig. 4): per-user linear compression, concatenation, transformer over N_c.

    Input: h_hat [B, K, N_c, N_t], tf.complex64 (the BS's channel estimate).
    Output: csi_features [B, N_c, csi_dim], tf.float32.
    """

    def __init__(self, num_users: int, num_subcarriers: int, csi_dim: int, d_model: int,
                 depth: int, heads: int, mlp_ratio: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.args = dict(num_users=num_users, num_subcarriers=num_subcarriers, csi_dim=csi_dim,
                         d_model=d_model, depth=depth, heads=heads, mlp_ratio=mlp_ratio)
        self.compress = keras.layers.Dense(csi_dim, name="compress")         # 2 N_t -> 64 (paper)
        self.transformer = SequenceTransformer(d_model, depth, heads, csi_dim, num_subcarriers,
                                               mlp_ratio, name="transformer")

    def call(self, h_hat: tf.Tensor) -> tf.Tensor:
        k, nc = self.args["num_users"], self.args["num_subcarriers"]
        x = self.compress(csi_real(h_hat))                                    # [B, K, N_c, csi]
        x = tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [-1, nc, k * x.shape[-1]])  # [B, N_c, K csi]
        return self.transformer(x)

    def get_config(self) -> dict:
        return {**super().get_config(), **self.args}


@keras.saving.register_keras_serializable("linksim")
class SemanticFusion(keras.layers.Layer):
    """Semantic fusion (Fig. 5, eq. 9): image features of every user + CSI features -> W_s [N_c, K, Q] complex.

    Each user's image features pass a linear layer, are concatenated with
    the CSI features along the feature axis, and a transformer over the
    subcarriers outputs N_c x 2QK values: the first QK are Re W_s, the last
    QK Im W_s (eq. 9), reshaped to K x Q per subcarrier.

    Input: image_features [B, K, N_c, image_dim]; csi_features [B, N_c, csi_dim] (or None:
    no CSI, the deep JSCC baseline), tf.float32.
    Output: w_s [B, N_c, K, Q], tf.complex64.
    """

    def __init__(self, num_users: int, num_symbols: int, num_subcarriers: int, image_dim: int,
                 d_model: int, depth: int, heads: int, mlp_ratio: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.args = dict(num_users=num_users, num_symbols=num_symbols,
                         num_subcarriers=num_subcarriers, image_dim=image_dim, d_model=d_model,
                         depth=depth, heads=heads, mlp_ratio=mlp_ratio)
        self.image = keras.layers.Dense(image_dim, name="image")
        self.transformer = SequenceTransformer(d_model, depth, heads, 2 * num_symbols * num_users,
                                               num_subcarriers, mlp_ratio, name="transformer")

    def call(self, image_features: tf.Tensor, csi_features: tf.Tensor | None) -> tf.Tensor:
        k, q, nc = self.args["num_users"], self.args["num_symbols"], self.args["num_subcarriers"]
        x = self.image(image_features)                                        # [B, K, N_c, D]
        x = tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [-1, nc, k * x.shape[-1]])
        if csi_features is not None:
            x = tf.concat([x, csi_features], axis=-1)                         # [B, N_c, K D + csi]
        w = self.transformer(x)                                               # [B, N_c, 2QK]
        return tf.reshape(tf.complex(w[..., : q * k], w[..., q * k:]), [-1, nc, k, q])

    def get_config(self) -> dict:
        return {**super().get_config(), **self.args}


@keras.saving.register_keras_serializable("linksim")
class DirectSymbols(keras.layers.Layer):
    """Deep JSCC's latent (no fusion, no CSI): each user's image features -> its N_c x Q complex symbols.

    Input: image_features [B, K, N_c, image_dim], tf.float32.
    Output: w_s [B, N_c, K, Q], tf.complex64.
    """

    def __init__(self, num_symbols: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_symbols = num_symbols
        self.dense = keras.layers.Dense(2 * num_symbols, name="dense")

    def call(self, image_features: tf.Tensor) -> tf.Tensor:
        q = self.num_symbols
        w = self.dense(image_features)                                        # [B, K, N_c, 2Q]
        return tf.transpose(tf.complex(w[..., :q], w[..., q:]), [0, 2, 1, 3])

    def get_config(self) -> dict:
        return {**super().get_config(), "num_symbols": self.num_symbols}
