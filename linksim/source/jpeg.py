"""JPEG (ITU-T T.81) in its *abbreviated format*: only per-image data crosses the link.

Why: a 32x32 JPEG file is ~600 bytes of tables and ~40-300 bytes of image
data; charging the tables to every image would make JPEG fail at every budget
of the seed's SSCC baseline. T.81 (Annex B.4/B.5) defines the abbreviated
format for exactly this case: tables are agreed in advance and the compressed
image data carry only frame and scan headers plus entropy-coded data.

Fixed encoder settings (both ends): Pillow/libjpeg, baseline sequential
(SOF0), 4:2:0 chroma subsampling (measured on 50 CIFAR-10 test images it needs
5-12 % fewer bytes than 4:4:4 for 19-26 dB, i.e. payloads up to ~150 bytes;
4:4:4 only wins above ~27 dB), no restart intervals,
``optimize=False`` so the Huffman tables are the standard ones of T.81
Annex K, and the IJG quantisation tables of Annex K scaled by ``quality``
(1..95; libjpeg's recommended maximum).

Accounting (what :meth:`JPEGCodec.encode` returns, 32x32 RGB image):

====================  =======  ===========================================
part                  bytes    crosses the link?
====================  =======  ===========================================
quality header        1        yes - receiver derives DQT from it
SOI, EOI              2 + 2    no  - fixed framing, re-inserted
APP0 (JFIF)           18       no  - fixed
DQT (luma + chroma)   2 x 69   no  - function of quality only
DHT (4 std tables)    432      no  - fixed (Annex K)
SOF0                  19       yes - frame header
SOS                   14       yes - scan header
entropy-coded data    varies   yes
====================  =======  ===========================================

So payload = 34 bytes + entropy-coded data, full file = payload + 591 bytes.
Measured on 100 CIFAR-10 test images (mean payload bytes / mean PSNR):
quality 1: 63 B / 18.7 dB, 5: 80 B / 21.1 dB, 10: 108 B / 23.7 dB,
20: 150 B / 26.3 dB, 30: 187 B / 27.9 dB, 50: 260 B / 29.1 dB.
(At quality 75 the mean is 81 dB: the workplace CIFAR-10 copy is itself
q75 4:2:0 JPEG, so re-encoding at q75 often reproduces it exactly.)
The receiver rebuilds the interchange-format file byte for byte: it encodes a
blank image of the agreed shape at the received quality (cached) and swaps that
file's SOF0 and SOS+data segments for the received ones.
"""
from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image

from linksim.source import CODECS
from linksim.source.base import DecodeError, SourceCodec

_SOF0, _DHT, _SOI, _EOI, _SOS, _DQT, _DRI = 0xC0, 0xC4, 0xD8, 0xD9, 0xDA, 0xDB, 0xDD
_APP0, _APP15, _COM = 0xE0, 0xEF, 0xFE
_LINK_MARKERS = frozenset({_SOF0, _DRI, _SOS})
_AGREED_MARKERS = frozenset({_SOI, _EOI, _DQT, _DHT, _COM, *range(_APP0, _APP15 + 1)})
_SUBSAMPLING_420 = 2  # Pillow's code for 4:2:0


def _end_of_entropy_data(data: bytes, pos: int) -> int:
    """Position of the first marker at or after ``pos``; stuffed FF00 and restarts FFD0-FFD7 are data."""
    while pos + 1 < len(data):
        if data[pos] == 0xFF and data[pos + 1] != 0x00 and not 0xD0 <= data[pos + 1] <= 0xD7:
            return pos
        pos += 1
    return len(data)


def _segments(data: bytes, start: int = 0) -> list[tuple[int, bytes]]:
    """Split JPEG bytes into ``(marker, segment bytes)``; an SOS segment includes its entropy-coded data.

    Raises ValueError on anything that is not a well-formed marker sequence.
    """
    out: list[tuple[int, bytes]] = []
    pos = start
    while pos < len(data):
        if data[pos] != 0xFF or pos + 1 >= len(data):
            raise ValueError(f"no JPEG marker at byte {pos}")
        marker = data[pos + 1]
        if marker in (_SOI, _EOI):
            out.append((marker, data[pos : pos + 2]))
            pos += 2
            continue
        if pos + 4 > len(data):
            raise ValueError(f"truncated segment at byte {pos}")
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == _SOS:
            end = _end_of_entropy_data(data, end)
        if end > len(data):
            raise ValueError(f"segment FF{marker:02X} at byte {pos} runs past the end")
        out.append((marker, data[pos:end]))
        pos = end
    return out


@CODECS.register("jpeg")
class JPEGCodec(SourceCodec):
    """JPEG baseline 4:2:0 via Pillow, abbreviated format (tables agreed in advance), quality 95..1."""

    name = "jpeg"
    backend = "pillow-jpeg"
    qualities = tuple(range(95, 0, -1))

    def encode_file(self, image: np.ndarray, quality: int) -> bytes:
        """The full interchange-format JPEG file (tables included) with the fixed settings.

        Parameters
        ----------
        image : [H, W, 3], np.uint8
        quality : int in 1..95

        Returns
        -------
        jpeg : bytes
            What a ``.jpg`` file would hold; :meth:`encode` sends only part of it.
        """
        self._check_input(image, quality)
        buf = io.BytesIO()
        Image.fromarray(image, "RGB").save(
            buf, "JPEG", quality=quality, subsampling=_SUBSAMPLING_420, optimize=False, progressive=False
        )
        return buf.getvalue()

    def encode(self, image: np.ndarray, quality: int) -> bytes:
        """Payload = 1 quality byte + SOF0 + SOS + entropy-coded data (see module docstring).

        Parameters
        ----------
        image : [H, W, 3], np.uint8
        quality : int in 1..95

        Returns
        -------
        payload : bytes
        """
        sent = []
        for marker, segment in _segments(self.encode_file(image, quality)):
            if marker in _LINK_MARKERS:
                sent.append(segment)
            elif marker not in _AGREED_MARKERS:
                raise RuntimeError(f"Pillow wrote marker FF{marker:02X}, which the fixed settings exclude")
        return bytes([quality]) + b"".join(sent)

    def strip_padding(self, padded: bytes) -> bytes:
        """The padded payload unchanged: zero bytes after the scan are ignored by the decoder.

        Stripping would be wrong: a payload ends in 0x00 when its last
        entropy-coded byte is 0xFF (T.81 F.1.2.3 byte stuffing; 9 % of CIFAR-10
        payloads). The decoder stops after the last MCU, so zero bytes between
        the scan and the rebuilt EOI do not change the image (checked on every
        pad length 1-20 in tests/test_sscc.py).

        Parameters
        ----------
        padded : bytes

        Returns
        -------
        payload : bytes
        """
        return padded

    def decode(self, payload: bytes, shape: tuple[int, int, int]) -> np.ndarray:
        """Rebuild the full JPEG from the agreed tables for the received quality and decode it.

        Parameters
        ----------
        payload : bytes
            Output of :meth:`encode`.
        shape : (H, W, 3)

        Returns
        -------
        image : [H, W, 3], np.uint8
        """
        try:
            quality = payload[0]
            if quality not in self.qualities:
                raise ValueError(f"quality byte {quality} not in 1..95")
            received = _segments(payload, 1)
            if {m for m, _ in received} - _LINK_MARKERS:
                raise ValueError("payload holds markers other than SOF0, DRI, SOS")
            rebuilt = []
            for marker, segment in _template(quality, tuple(shape)):
                if marker == _SOF0:
                    rebuilt += [s for m, s in received if m == _SOF0]
                elif marker == _SOS:
                    rebuilt += [s for m, s in received if m in (_DRI, _SOS)]
                else:
                    rebuilt.append(segment)
            with Image.open(io.BytesIO(b"".join(rebuilt))) as img:
                image = np.asarray(img.convert("RGB"))
        except (IndexError, ValueError, OSError, SyntaxError) as exc:
            raise DecodeError(f"undecodable JPEG payload: {exc}") from exc
        if image.shape != tuple(shape):
            raise DecodeError(f"JPEG payload decodes to {image.shape}, expected {tuple(shape)}")
        return image


@lru_cache(maxsize=256)
def _template(quality: int, shape: tuple[int, int, int]) -> tuple[tuple[int, bytes], ...]:
    """Segments of a blank image's JPEG at ``quality``: the receiver's copy of the agreed tables."""
    blank = np.zeros(shape, dtype=np.uint8)
    return tuple(_segments(JPEGCodec().encode_file(blank, quality)))
