"""Adaptive rate control of the SSCC baselines (seed 003, Sec. IV, eq. 10).

The link carries at most ``B_max = floor(N_st * N_sf * m * r)`` information
bits per image. The seed compresses at the best quality and lowers it until
the payload fits; if even the worst quality does not fit, the image is a
failure (recorded as 0 dB by the caller).

Search: encoding is the cost (x265 takes ~6 ms per call), so instead of the
seed's linear walk (up to 101 encodes) we check the worst quality, then the
best, then bisect over ``codec.qualities`` (~7 more encodes). Payload size
is *almost* monotone in quality but not strictly (e.g. libheif quality 1 can
give a byte less than quality 0); bisection
keeps as its answer only a quality whose payload was *measured* to fit, so
the result never exceeds ``max_bits``, and it fails exactly when the worst
quality does not fit. Where sizes are not monotone it may return a slightly
lower quality than the linear walk would. Measured on 200 CIFAR-10 test
images x 12 budgets of 300-3000 bits: JPEG always agrees with the linear walk;
HEVC agrees in 98.96 % of cases, 15/2400 get a quality 1-6 libheif steps
(<= 3 QP) lower, and 10/2400 fail although a quality just above the worst
(whose stream can be a byte smaller) would have fitted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from linksim.source.base import SourceCodec


@dataclass(frozen=True)
class Encoded:
    """Result of fitting one image into a bit budget.

    Attributes
    ----------
    payload : bytes or None
        Bytes to transmit (zero-padded to the block length by the link); None
        when even the worst quality exceeds the budget (a failed image).
    quality : int or None
        Quality used, None on failure.
    bits : int
        ``8 * len(payload)``, the information bits used; 0 on failure.
    """

    payload: bytes | None
    quality: int | None
    bits: int

    @property
    def ok(self) -> bool:
        """True when the image fits the budget and will be transmitted."""
        return self.payload is not None


def fit_to_budget(codec: SourceCodec, image: np.ndarray, max_bits: int) -> Encoded:
    """Encode ``image`` at the best quality whose payload has at most ``max_bits`` bits.

    Parameters
    ----------
    codec : SourceCodec
    image : [H, W, 3], np.uint8
    max_bits : int
        B_max of seed eq. (10).

    Returns
    -------
    Encoded
        ``bits <= max_bits`` always; failure iff the worst quality does not fit.
    """
    qualities = codec.qualities
    cache: dict[int, bytes] = {}

    def payload(index: int) -> bytes:
        if index not in cache:
            cache[index] = codec.encode(image, qualities[index])
        return cache[index]

    def fits(index: int) -> bool:
        return 8 * len(payload(index)) <= max_bits

    worst = len(qualities) - 1
    if not fits(worst):
        return Encoded(payload=None, quality=None, bits=0)
    if fits(0):
        best_fit = 0
    else:
        too_big, best_fit = 0, worst  # invariant: too_big measured not to fit, best_fit measured to fit
        while best_fit - too_big > 1:
            middle = (too_big + best_fit) // 2
            if fits(middle):
                best_fit = middle
            else:
                too_big = middle
    data = payload(best_fit)
    return Encoded(payload=data, quality=qualities[best_fit], bits=8 * len(data))


def fit_to_bits(codec: SourceCodec, image: np.ndarray, bits: float) -> Encoded:
    """:func:`fit_to_budget` for a real-valued budget, e.g. a capacity bound ``N_RE * log2(1 + SNR)``.

    Payloads are whole bytes, so a payload fits ``bits`` iff it fits ``floor(bits)``;
    ``bits = inf`` means no limit (best quality).

    Parameters
    ----------
    codec : SourceCodec
    image : [H, W, 3], np.uint8
    bits : float >= 0

    Returns
    -------
    Encoded
    """
    if math.isnan(bits) or bits < 0:
        raise ValueError(f"bit budget must be >= 0, got {bits}")
    if math.isinf(bits):
        data = codec.encode(image, codec.qualities[0])
        return Encoded(payload=data, quality=codec.qualities[0], bits=8 * len(data))
    return fit_to_budget(codec, image, math.floor(bits))
