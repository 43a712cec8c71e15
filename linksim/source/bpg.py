"""BPG (Bellard's Better Portable Graphics, HEVC intra): ``bpgenc``/``bpgdec`` if on PATH, else HEVC via pillow-heif.

Why two backends: the seed's SSCC baseline uses BPG, but the BPG tools are
rarely installed and not on PyPI. With them on PATH the payload is the
``.bpg`` file itself (BPG's own compact header plus HEVC data), encoded with
``-f 420 -m 8`` (bpgenc's defaults, spelled out) and ``-q`` = the HEVC QP
(0 best .. 51 worst). Without them, :class:`linksim.source.heif.HeifHevcCodec`
produces the same kind of stream with the same settings and a BPG-like header.
The ``backend`` attribute records which one produced a result.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from linksim.source import CODECS
from linksim.source.base import DecodeError, SourceCodec
from linksim.source.heif import HeifHevcCodec

_TIMEOUT_S = 60


class BpgencCodec(SourceCodec):
    """BPG through the ``bpgenc``/``bpgdec`` command-line tools; payload = the whole ``.bpg`` file."""

    name = "bpg"
    backend = "bpgenc"
    qualities = tuple(range(0, 52))  # HEVC QP, best first

    def __init__(self, bpgenc: str = "bpgenc", bpgdec: str = "bpgdec") -> None:
        self.bpgenc, self.bpgdec = bpgenc, bpgdec

    def encode(self, image: np.ndarray, quality: int) -> bytes:
        """Run ``bpgenc -q quality -f 420 -m 8`` on a PNG of ``image``.

        Parameters
        ----------
        image : [H, W, 3], np.uint8
        quality : int in 0..51 (HEVC QP)

        Returns
        -------
        payload : bytes
            The ``.bpg`` file.
        """
        self._check_input(image, quality)
        with tempfile.TemporaryDirectory(prefix="linksim-bpg-") as tmp:
            src, out = Path(tmp) / "in.png", Path(tmp) / "out.bpg"
            Image.fromarray(image, "RGB").save(src)
            cmd = [self.bpgenc, "-q", str(quality), "-f", "420", "-m", "8", "-o", str(out), str(src)]
            subprocess.run(cmd, check=True, capture_output=True, timeout=_TIMEOUT_S)
            return out.read_bytes()

    def decode(self, payload: bytes, shape: tuple[int, int, int]) -> np.ndarray:
        """Run ``bpgdec`` to a PPM file and read it.

        Parameters
        ----------
        payload : bytes
            A ``.bpg`` file.
        shape : (H, W, 3)

        Returns
        -------
        image : [H, W, 3], np.uint8
        """
        with tempfile.TemporaryDirectory(prefix="linksim-bpg-") as tmp:
            src, out = Path(tmp) / "in.bpg", Path(tmp) / "out.ppm"
            src.write_bytes(payload)
            try:
                cmd = [self.bpgdec, "-o", str(out), str(src)]
                subprocess.run(cmd, check=True, capture_output=True, timeout=_TIMEOUT_S)
                with Image.open(out) as img:
                    image = np.asarray(img.convert("RGB"))
            except (subprocess.CalledProcessError, OSError) as exc:
                raise DecodeError(f"bpgdec failed: {exc}") from exc
        if image.shape != tuple(shape):
            raise DecodeError(f"BPG payload decodes to {image.shape}, expected {tuple(shape)}")
        return image


@CODECS.register("bpg", doc="BPG (HEVC intra, 4:2:0): bpgenc/bpgdec from PATH, else x265 via pillow-heif")
def best_bpg_codec() -> SourceCodec:
    """The BPG codec with the best available backend: ``bpgenc`` on PATH, else pillow-heif's x265."""
    if shutil.which("bpgenc") and shutil.which("bpgdec"):
        return BpgencCodec()
    return HeifHevcCodec()
