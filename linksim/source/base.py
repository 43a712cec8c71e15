"""The one interface every source codec of the SSCC baselines implements (CompressAI's ``Codec`` pattern)."""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class DecodeError(ValueError):
    """A payload could not be decoded (corrupt bits, unknown quality, wrong shape).

    The SSCC link only decodes payloads whose LDPC/CRC check passed, so this
    signals a bug or an undetected block error; callers count it as a failed
    image (0 dB, seed 003 Sec. IV).
    """


class SourceCodec(ABC):
    """Lossy image codec whose ``encode`` output is exactly the bits sent over the link.

    Everything both ends can agree in advance (quantisation/Huffman tables,
    container boxes, parameter sets fixed by the codec settings) is *not* in
    the payload; everything the receiver needs per image is, including a
    compact header (e.g. the quality). So ``8 * len(payload)`` is the number of
    information bits the rate control compares against B_max (seed 003 eq. 10).

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"jpeg"``.
    backend : str
        Implementation that produced the bits, recorded with results
        (e.g. ``"pillow-jpeg"``, ``"bpgenc"``, ``"pillow-heif-x265"``).
    qualities : tuple[int, ...]
        Valid ``quality`` arguments ordered from best to worst quality
        (for most images: from largest to smallest payload).
    """

    name: str
    backend: str
    qualities: tuple[int, ...]

    @abstractmethod
    def encode(self, image: np.ndarray, quality: int) -> bytes:
        """Compress one image to the payload that crosses the link.

        Parameters
        ----------
        image : [H, W, 3], np.uint8
        quality : int
            One of ``qualities``.

        Returns
        -------
        payload : bytes
        """

    @abstractmethod
    def decode(self, payload: bytes, shape: tuple[int, int, int]) -> np.ndarray:
        """Reconstruct an image from a payload produced by :meth:`encode`.

        Parameters
        ----------
        payload : bytes
        shape : (H, W, 3)
            Image shape agreed in advance; a payload of another shape is a DecodeError.

        Returns
        -------
        image : [H, W, 3], np.uint8
        """

    def strip_padding(self, padded: bytes) -> bytes:
        """The payload inside a block zero-padded to the link's fixed length (seed 003 Sec. IV).

        Why: the transport block has a fixed size, so the receiver must find
        where the payload ends without a length field (which would cost bits).
        Default: drop trailing zero bytes, exact for payloads that never end in
        0x00: HEVC/BPG payloads end with an HEVC NAL unit, whose last byte is
        never 0x00 (H.265 7.4.2). Codecs whose payload can end in 0x00 override.

        Parameters
        ----------
        padded : bytes
            A payload followed by zero or more zero bytes.

        Returns
        -------
        payload : bytes
            Input for :meth:`decode`.
        """
        return padded.rstrip(b"\0")

    def _check_input(self, image: np.ndarray, quality: int) -> None:
        """Raise ValueError unless ``image`` is [H, W, 3] uint8 and ``quality`` is one of ``qualities``."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"{self.name} encodes [H, W, 3] uint8 images, got {image.dtype}{list(image.shape)}")
        if quality not in self.qualities:
            allowed = f"{min(self.qualities)}..{max(self.qualities)}"
            raise ValueError(f"{self.name} quality must be in {allowed}, got {quality}")
