"""A plain transformer encoder over a sequence (Vaswani et al. 2017), pre-LN, as Keras 3 layers.

Written for linksim (seed 000's CSI semantic extractor, semantic fusion,
data-driven beamformer and WMMSE parameter network all run one over the N_c
subcarriers of an OFDM symbol). The attention itself is Keras's
``MultiHeadAttention``; the rest is the textbook block.

- :func:`sinusoidal_positions`: the fixed sine/cosine position code;
- :class:`TransformerBlock`: x + MSA(LN(x)), then x + MLP(LN(x));
- :class:`SequenceTransformer`: linear embedding -> + positions -> ``depth``
  blocks -> LN -> linear output, the "transformer" box of seed 000's Figs. 4-7.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def sinusoidal_positions(length: int, dim: int) -> np.ndarray:
    """[length, dim] float32: sin(n / 10000^(2i/d)) on even, cos on odd channels (position n)."""
    pos = np.arange(length)[:, None]
    rate = 1.0 / np.power(10000.0, (2 * (np.arange(dim) // 2)) / dim)
    angles = pos * rate[None]
    return np.where(np.arange(dim) % 2 == 0, np.sin(angles), np.cos(angles)).astype(np.float32)


@keras.saving.register_keras_serializable("linksim")
class TransformerBlock(keras.layers.Layer):
    """One pre-LN transformer encoder layer: multi-head self-attention and an MLP, each residual.

    Input: x [B, N, dim], tf.float32.  Output: [B, N, dim], tf.float32.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, **kwargs) -> None:
        super().__init__(**kwargs)
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
        self.dim, self.heads, self.mlp_ratio = dim, heads, mlp_ratio
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm1")
        self.attn = keras.layers.MultiHeadAttention(heads, dim // heads, name="attn")
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm2")
        self.fc1 = keras.layers.Dense(int(dim * mlp_ratio), activation="gelu", name="fc1")
        self.fc2 = keras.layers.Dense(dim, name="fc2")

    def build(self, input_shape) -> None:
        self.norm1.build(input_shape)
        self.attn.build(input_shape, input_shape)
        self.norm2.build(input_shape)
        self.fc1.build(input_shape)
        self.fc2.build(tuple(input_shape[:-1]) + (int(self.dim * self.mlp_ratio),))

    def call(self, x: tf.Tensor) -> tf.Tensor:
        y = self.norm1(x)
        x = x + self.attn(y, y)
        return x + self.fc2(self.fc1(self.norm2(x)))

    def get_config(self) -> dict:
        return {**super().get_config(), "dim": self.dim, "heads": self.heads,
                "mlp_ratio": self.mlp_ratio}


@keras.saving.register_keras_serializable("linksim")
class SequenceTransformer(keras.layers.Layer):
    """Linear embedding to ``dim`` + sinusoidal positions, ``depth`` blocks, LN, linear to ``out_dim``.

    Parameters
    ----------
    dim, depth, heads : int
        d_model, number of layers U, attention heads.
    out_dim : int
        Features per position of the output.
    length : int
        Sequence length N (the number of subcarriers N_c), fixed.
    mlp_ratio : float
        MLP width / dim.
    zero_output : bool
        Start the output layer at zero (kernel and bias), so the transformer
        first outputs 0 everywhere (used where 0 means "the classical value").

    Input: x [B, length, C], tf.float32.  Output: [B, length, out_dim], tf.float32.
    """

    def __init__(self, dim: int, depth: int, heads: int, out_dim: int, length: int,
                 mlp_ratio: float = 4.0, zero_output: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dim, self.depth, self.heads, self.out_dim = dim, depth, heads, out_dim
        self.length, self.mlp_ratio, self.zero_output = length, mlp_ratio, zero_output
        self.embed = keras.layers.Dense(dim, name="embed")
        self.blocks = [TransformerBlock(dim, heads, mlp_ratio, name=f"block{i}")
                       for i in range(depth)]
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")
        init = "zeros" if zero_output else "glorot_uniform"
        self.head = keras.layers.Dense(out_dim, kernel_initializer=init, name="head")
        self._positions = tf.constant(sinusoidal_positions(length, dim))

    def call(self, x: tf.Tensor) -> tf.Tensor:
        x = self.embed(x) + self._positions[None]
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))

    def get_config(self) -> dict:
        return {**super().get_config(), "dim": self.dim, "depth": self.depth, "heads": self.heads,
                "out_dim": self.out_dim, "length": self.length, "mlp_ratio": self.mlp_ratio,
                "zero_output": self.zero_output}
