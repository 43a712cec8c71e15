"""Lightweight UE decoder with pilot-guided attention (seed 003, Sec. III-C, Table I).

Every UE runs the same decoder (shared weights; each user's own pilot grid
tells it which comb is its own). Block diagram (``call`` reads in this order)::

    y_k (14 x N_f complex) --fold--> Y 8x8xC          Y_p (user k's pilots) --fold--> 8x8xC
    pilot-guided attention:  [Y, Y_p] -> SepConv(64)+BN+ReLU -> SepConv(64)+BN+ReLU
                             -> SepConv(C)+sigmoid = W;   features = [Y * W, Y_p]     8x8x2C
    restoration:  Conv1x1(128)+ReLU -> [SepResBlock(128)] x blocks -> Up2 -> SepConv(64)+BN+ReLU -> Up2
                  -> SepConv(32)+BN+ReLU -> SepConv(16)+ReLU -> Conv3x3(3)+sigmoid    32x32x3
    classification: [SepConv(f)+ReLU+MaxPool2] f = 16, 32, 64 -> Flatten
                    -> Dense(128)+ReLU -> Dense(num_classes)                           logits

Decisions where Table I is garbled or silent:

- The fold. Table I sizes the attention's last SepConv as
  "N_f N_t N_k / 64" filters and the restoration net upsamples twice to
  32x32, so the received grid is laid out as 8x8 positions with
  C = 2 N_t N_f / 64 channels (C = 14, 28, 56 for N_f = 32, 64, 128; N_k
  read as the real/imaginary factor 2, as in the encoder). The grid is
  folded frequency-major: the 2 N_t values of consecutive subcarriers fill
  consecutive positions, so every position holds whole (half) subcarriers,
  each with its received pilot REs next to its data REs in the channel axis
  -- the per-subcarrier pilot/data pairing a 1x1 kernel needs to equalise,
  and neighbouring positions are neighbouring subcarriers. It requires
  2 N_t N_f divisible by 64 (N_f a multiple of 16 with 14 symbols).
- Y_p keeps the pilot symbols in place (zeros on data REs), so the pilot
  REs stay in the features; the paper's "removes the pilot" is left to the
  learned 1x1 convolution that follows.
- The attention weights W multiply the received features (C channels), and
  ``[Y * W, Y_p]`` is what both heads see (the "concatenate Y_p again" of
  Fig. 3). Without pilot guidance (the w/o Pilot and RZF variants) both heads
  see Y alone.
- Table I's "SepConv2D (16,3,1)" before the output Conv gets a ReLU (two
  linear maps in a row would collapse into one); Dense(128) gets a ReLU.
- After three 2x2 max-pools the 8x8 map is 1x1, so Flatten is the global
  pooling the text mentions.
- ``width`` scales all decoder channel counts (1.0: Table I's widths).
- ``blocks`` (not the paper; 0 is Table I) inserts residual SepConv blocks at
  8x8 between the 1x1 convolution and the first upsampling. Why: Table I's
  restoration head does no spatial processing at the 8x8 resolution where
  the received symbols live; its 3x3 kernels act after upsampling, so an
  output pixel depends on the symbols of its own and the next two positions
  only (tests/test_semantic.py measures it). Denoising at low SNR could use
  more context; each block (two SepConvs) widens the reach by two positions
  at ~36 k weights (width 1; 78 k at width 1.5). Measured (Fig. 10,
  ``umi_4x4_conv_deep.yaml``): three blocks cost 20 % more time per step and
  gave +0.2-0.3 dB validation PSNR after 5 epochs, growing with training to
  +0.5 (7 dB) .. +0.8 dB (-7 dB) on the test set after 20 (Fig. 9): the best
  N_f = 32 model of results/README.md.
- ``pixel_path`` (not the paper) adds a 3x3 convolution of the 8x8
  features after the residual blocks to 48 channels, laid out as 4x4 pixel
  blocks (depth-to-space) and added to the output convolution's
  pre-sigmoid values: a path to the pixels that bypasses the two nearest-
  neighbour upsamplings and the thin layers at 32x32 (16 and 32 channels
  at width 1). It pairs with the encoder's pixel path (why:
  :mod:`linksim.systems.scenario_adaptive.encoder`); its kernel starts at zero.

Size: with Table I's widths this decoder has 0.039 / 0.047 / 0.061 M
weights at N_f = 32 / 64 / 128 (0.029 / 0.031 / 0.035 M without pilot
guidance), below Table III's 0.11 M (0.078 M w/o Pilot), which Table I's
widths cannot reach; ``width=1.5`` gives 0.110 M (0.42 MB) at N_f = 128.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from linksim.nn.norm import BatchNorm, zero_scale_and_shift


def fold_channels(num_ofdm_symbols: int, fft_size: int) -> int:
    """C of :func:`fold_grid`; ValueError if the grid does not fill 8 x 8 positions."""
    values = 2 * num_ofdm_symbols * fft_size
    if values % 64:
        raise ValueError(f"2 x {num_ofdm_symbols} OFDM symbols x {fft_size} subcarriers is not "
                         "divisible by 64 (8 x 8 positions); use fft_size a multiple of 16")
    return values // 64


def fold_grid(y: tf.Tensor) -> tf.Tensor:
    """[N, num_ofdm_symbols, fft_size] complex -> [N, 8, 8, C] real, C = 2 S F / 64, frequency-major."""
    channels = fold_channels(y.shape[-2], y.shape[-1])
    t = tf.transpose(y, [0, 2, 1])                                   # [N, F, S]
    real = tf.stack([tf.math.real(t), tf.math.imag(t)], axis=-1)     # [N, F, S, 2]
    return tf.reshape(real, [-1, 8, 8, channels])


def _conv3x3(filters: int, activation: str | None = None, bn: bool = False) -> list[keras.layers.Layer]:
    """3x3 SepConv, with BN before ``activation`` if ``bn``."""
    layers = [keras.layers.SeparableConv2D(filters, 3, padding="same", use_bias=not bn,
                   activation=None if bn else activation)]
    if bn:
        layers += [BatchNorm(), keras.layers.Activation(activation)]
    return layers


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def decoder_channels(width: float) -> tuple[int, ...]:
    """The decoder's channel counts (Table I's 16, 32, 64, 128) at ``width``."""
    return tuple(_scaled(c, width) for c in (16, 32, 64, 128))


@keras.saving.register_keras_serializable("linksim")
class SepResBlock(keras.layers.Layer):
    """x + (SepConv+BN+ReLU -> SepConv+BN)(x), then ReLU: a residual block in depthwise-separable convolutions.

    Input: [N, H, W, C], tf.float32. Output: the same shape.
    """

    def __init__(self, channels: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.channels = channels
        self.body = keras.Sequential([*_conv3x3(channels, "relu", bn=True),
                                      keras.layers.SeparableConv2D(channels, 3, padding="same",
                                                                   use_bias=False),
                                      BatchNorm()], name="body")

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        return tf.nn.relu(x + self.body(x, training=training))

    def start_as_identity(self) -> None:
        """Zero the branch's last BN scale and shift: the block then passes a non-negative input unchanged."""
        zero_scale_and_shift(self.body.layers[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "channels": self.channels}


@keras.saving.register_keras_serializable("linksim")
class ClassificationHead(keras.layers.Layer):
    """Three SepConv+ReLU+MaxPool stages, Dense(128)+ReLU, Dense(num_classes).

    Input: [N, 8, 8, C], tf.float32. Output: logits [N, num_classes], tf.float32.
    """

    def __init__(self, num_classes: int = 10, width: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.width = width
        layers: list[keras.layers.Layer] = []
        for f in (16, 32, 64):
            layers += _conv3x3(_scaled(f, width), "relu") + [keras.layers.MaxPooling2D(2)]
        layers += [keras.layers.Flatten(),
                   keras.layers.Dense(_scaled(128, width), activation="relu"),
                   keras.layers.Dense(num_classes)]
        self.net = keras.Sequential(layers, name="classifier")

    def call(self, features: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.net(features, training=training)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_classes": self.num_classes, "width": self.width}


@keras.saving.register_keras_serializable("linksim")
class SemanticDecoder(keras.layers.Layer):
    """Pilot-guided attention, restoration head and classification head (module docstring).

    Parameters
    ----------
    pilot_guidance : bool
        Use Y_p and the attention module (False: the w/o Pilot and RZF variants).
    num_classes : int
        Classes of the classification head (10 for CIFAR-10).
    width : float
        Multiplier of every channel count (1.0: the paper).
    blocks : int
        Residual SepConv blocks at 8x8 before upsampling (0: the paper; module docstring).
    pixel_path : bool
        Add a depth-to-space path from the 8x8 features to the output (False:
        the paper; module docstring).
    head_width : float or None
        Width of the classification head (None: ``width``, the paper's head).

    Input
    -----
    y : [N, num_ofdm_symbols, fft_size], tf.complex64
        One user's received grid.
    pilots : [N, num_ofdm_symbols, fft_size], tf.complex64
        That user's pilot reference Y_p (ignored without pilot guidance).
    no : [N], tf.float32 or None
        Noise variance of each grid's slot (unused: the UE decoder is not told its SNR).

    Output
    ------
    images : [N, 32, 32, 3], tf.float32
        Reconstruction in [0, 1].
    logits : [N, num_classes], tf.float32
    """

    def __init__(self, pilot_guidance: bool = True, num_classes: int = 10, width: float = 1.0,
                 blocks: int = 0, pixel_path: bool = False, head_width: float | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.pilot_guidance = pilot_guidance
        self.num_classes = num_classes
        self.width = width
        self.blocks = blocks
        self.pixel_path = pixel_path
        self.attention: keras.Sequential | None = None
        self.restoration = keras.Sequential(
            [keras.layers.Conv2D(_scaled(128, width), 1, activation="relu"),
             *[SepResBlock(_scaled(128, width)) for _ in range(blocks)],
             keras.layers.UpSampling2D(2),
             *_conv3x3(_scaled(64, width), "relu", bn=True),
             keras.layers.UpSampling2D(2),
             *_conv3x3(_scaled(32, width), "relu", bn=True),
             *_conv3x3(_scaled(16, width), "relu"),
             # with the pixel path the sigmoid comes after the sum, in call (same weights)
             keras.layers.Conv2D(3, 3, padding="same",
                                 activation=None if pixel_path else "sigmoid")],
            name="restoration")
        self.pixel_head = (keras.layers.Conv2D(48, 3, padding="same", use_bias=False,
                                               kernel_initializer="zeros", name="pixel_head")
                           if pixel_path else None)
        self.head_width = head_width
        self.classifier = ClassificationHead(num_classes, width if head_width is None else head_width,
                                             name="classification")

    @property
    def residual_blocks(self) -> list[keras.layers.Layer]:
        """The ``blocks`` residual blocks at 8x8, in order (after the restoration head's 1x1 conv)."""
        return self.restoration.layers[1:1 + self.blocks]

    def build(self, y_shape, pilots_shape=None, no_shape=None) -> None:
        channels = fold_channels(y_shape[-2], y_shape[-1])
        if self.pilot_guidance:
            self.attention = keras.Sequential(
                [*_conv3x3(_scaled(64, self.width), "relu", bn=True),
                 *_conv3x3(_scaled(64, self.width), "relu", bn=True),
                 *_conv3x3(channels, "sigmoid")], name="pilot_attention")

    def call(self, y: tf.Tensor, pilots: tf.Tensor, no: tf.Tensor | None = None,
             training: bool = False):
        features = fold_grid(y)                                              # [N, 8, 8, C]
        if self.pilot_guidance:
            reference = fold_grid(pilots)
            weights = self.attention(tf.concat([features, reference], -1), training=training)
            features = tf.concat([features * weights, reference], -1)       # [N, 8, 8, 2C]
        if self.pixel_head is None:
            images = self.restoration(features, training=training)
        else:
            h = features
            for i, layer in enumerate(self.restoration.layers):
                h = layer(h, training=training)
                if i == self.blocks:  # the 1x1 conv and the residual blocks: 8x8 features
                    pixels = tf.nn.depth_to_space(self.pixel_head(h), 4)        # [N, 32, 32, 3]
            images = tf.sigmoid(h + pixels)
        return images, self.classifier(features, training=training)

    def get_config(self) -> dict:
        return {**super().get_config(), "pilot_guidance": self.pilot_guidance,
                "num_classes": self.num_classes, "width": self.width, "blocks": self.blocks,
                "pixel_path": self.pixel_path, "head_width": self.head_width}
