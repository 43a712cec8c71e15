"""Source codecs (JPEG abbreviated format, BPG/HEVC), their payload accounting, and rate control."""
from __future__ import annotations

import io
import stat
import sys
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from linksim.data import load_images
from linksim.data.metrics import psnr
from linksim.source import CODECS, DecodeError, SourceCodec, bpg
from linksim.source.heif import HeifHevcCodec, ue7_decode, ue7_encode
from linksim.source.isobmff import find_box, iter_boxes
from linksim.source.jpeg import JPEGCodec, _segments
from linksim.source.rate_control import fit_to_bits, fit_to_budget

SHAPE = (32, 32, 3)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """Six natural 32x32 crops (offline photographs), [6, 32, 32, 3] uint8."""
    return load_images("samples").images[::23][:6]


def _mean_size_and_psnr(codec: SourceCodec, images: np.ndarray, quality: int) -> tuple[float, float]:
    payloads = [codec.encode(im, quality) for im in images]
    decoded = np.stack([codec.decode(p, SHAPE) for p in payloads])
    assert decoded.dtype == np.uint8 and decoded.shape == images.shape
    return float(np.mean([len(p) for p in payloads])), float(psnr(images, decoded).mean())


def test_registry_names_both_codecs():
    assert {"bpg", "jpeg"} <= set(CODECS)
    for name in ("bpg", "jpeg"):
        codec = CODECS[name]()
        assert codec.name == name and codec.backend and len(codec.qualities) > 10


@pytest.mark.parametrize("codec", [JPEGCodec(), HeifHevcCodec()], ids=["jpeg", "hevc"])
def test_higher_quality_costs_bytes_and_buys_psnr(codec, images):
    qualities = codec.qualities
    best, mid, worst = qualities[len(qualities) // 10], qualities[len(qualities) // 2], qualities[-1]
    sizes, psnrs = zip(*(_mean_size_and_psnr(codec, images, q) for q in (best, mid, worst)))
    assert sizes[0] > sizes[1] > sizes[2]
    assert psnrs[0] > psnrs[1] > psnrs[2]
    assert 15 < psnrs[2] < 24 and 24 < psnrs[1] < 40 and psnrs[0] < 60


def test_jpeg_payload_is_the_abbreviated_format(images):
    codec = JPEGCodec()
    for im in images[:3]:
        full = codec.encode_file(im, 30)
        payload = codec.encode(im, 30)
        tables = sum(len(seg) for marker, seg in _segments(full) if marker in (0xDB, 0xC4))
        assert tables > 500 and len(full) - len(payload) >= tables
        assert payload[0] == 30
        assert [m for m, _ in _segments(payload, 1)] == [0xC0, 0xDA]  # SOF0, SOS(+data): no tables
        full_decode = np.asarray(Image.open(io.BytesIO(full)).convert("RGB"))
        np.testing.assert_array_equal(codec.decode(payload, SHAPE), full_decode)


def test_jpeg_bad_payloads_raise_decode_error(images):
    codec = JPEGCodec()
    payload = codec.encode(images[0], 50)
    for bad in (b"", bytes([0]) + payload[1:], payload[:1] + b"\x12\x34", payload[:25]):
        with pytest.raises(DecodeError):
            codec.decode(bad, SHAPE)
    with pytest.raises(DecodeError, match="expected"):
        codec.decode(payload, (16, 16, 3))
    with pytest.raises(ValueError):
        codec.encode(images[0], 96)


def test_hevc_payload_is_header_plus_mdat_and_decodes_like_the_file(images):
    codec = HeifHevcCodec()
    for im, quality in zip(images[:3], (0, 10, 40)):
        heif = codec.encode_file(im, quality)
        payload = codec.encode(im, quality)
        mdat = find_box(iter_boxes(heif, 0, len(heif)), "mdat")
        assert payload == bytes([32, 32, quality]) + heif[mdat.start + mdat.header : mdat.end]
        assert len(heif) - len(payload) > 300  # the container and parameter sets stay home
        file_decode = np.asarray(pillow_heif.open_heif(heif).to_pillow().convert("RGB"))
        np.testing.assert_array_equal(codec.decode(payload, SHAPE), file_decode)
    with pytest.raises(DecodeError):
        codec.decode(payload, (16, 32, 3))
    with pytest.raises(DecodeError):
        codec.decode(payload[:3], SHAPE)


def test_ue7_round_trip():
    for value in (0, 1, 32, 127, 128, 300, 2**20, 2**32 - 1):
        data = b"\x99" + ue7_encode(value)
        assert ue7_decode(data, 1) == (value, len(data))
    assert ue7_encode(32) == b"\x20" and ue7_encode(128) == b"\x81\x00"


def _fake_tool(path: Path, body: str) -> None:
    path.write_text(f"#!{sys.executable}\nimport sys\nargs = sys.argv[1:]\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_bpg_falls_back_to_pillow_heif_without_bpgenc(monkeypatch):
    monkeypatch.setattr(bpg.shutil, "which", lambda name: None)
    assert CODECS["bpg"]().backend == "pillow-heif-x265"


def test_bpg_uses_bpgenc_when_on_path(tmp_path, monkeypatch, images):
    # stand-ins that check the command line and carry the PNG inside a fake .bpg
    _fake_tool(tmp_path / "bpgenc", (
        "assert args[:6] == ['-q', args[1], '-f', '420', '-m', '8'] and args[6] == '-o'\n"
        "open(args[7], 'wb').write(b'BPG' + bytes([int(args[1])]) + open(args[8], 'rb').read())\n"
    ))
    _fake_tool(tmp_path / "bpgdec", (
        "from PIL import Image\nimport io\nassert args[0] == '-o' and args[1].endswith('.ppm')\n"
        "Image.open(io.BytesIO(open(args[2], 'rb').read()[4:])).save(args[1])\n"
    ))
    monkeypatch.setenv("PATH", f"{tmp_path}:{Path(sys.executable).parent}:/usr/bin:/bin")
    codec = CODECS["bpg"]()
    assert codec.backend == "bpgenc" and codec.qualities[0] == 0 and codec.qualities[-1] == 51
    payload = codec.encode(images[0], 29)
    assert payload[:4] == b"BPG" + bytes([29])
    np.testing.assert_array_equal(codec.decode(payload, SHAPE), images[0])
    with pytest.raises(DecodeError):
        codec.decode(b"BPG\x00garbage", SHAPE)


class _Scripted(SourceCodec):
    """Codec whose payload sizes per quality are given (non-monotone on purpose)."""

    name, backend = "scripted", "test"

    def __init__(self, sizes: list[int]) -> None:
        self.sizes = sizes
        self.qualities = tuple(range(len(sizes)))

    def encode(self, image: np.ndarray, quality: int) -> bytes:
        return bytes(self.sizes[quality])

    def decode(self, payload: bytes, shape: tuple[int, int, int]) -> np.ndarray:
        raise NotImplementedError


@pytest.mark.parametrize("sizes", [[90, 80, 85, 60, 61, 40, 41, 30], [50, 40, 30, 20, 10], [10, 10, 10], [5, 9]])
def test_rate_control_never_exceeds_and_fails_iff_worst_does_not_fit(sizes):
    codec = _Scripted(sizes)
    for max_bits in range(0, 8 * max(sizes) + 16):
        out = fit_to_budget(codec, None, max_bits)
        assert out.bits <= max_bits
        assert out.ok == (8 * sizes[-1] <= max_bits)
        if out.ok:
            assert out.bits == 8 * sizes[out.quality] == 8 * len(out.payload)
            if 8 * sizes[0] <= max_bits:
                assert out.quality == 0
        else:
            assert out.payload is None and out.quality is None and out.bits == 0


@pytest.mark.parametrize("codec", [JPEGCodec(), HeifHevcCodec()], ids=["jpeg", "hevc"])
def test_rate_control_on_real_codecs(codec, images):
    budgets = range(0, 16_000, 97) if codec.name == "jpeg" else (0, 250, 330, 400, 520, 800, 2000, 100_000)
    for im in images[:3]:
        worst_bits = 8 * len(codec.encode(im, codec.qualities[-1]))
        chosen = []
        for max_bits in budgets:
            out = fit_to_budget(codec, im, max_bits)
            assert out.bits <= max_bits and out.ok == (worst_bits <= max_bits)
            if out.ok:
                assert codec.encode(im, out.quality) == out.payload
                chosen.append(codec.qualities.index(out.quality))
        assert chosen[-1] == 0  # a huge budget gets the best quality
        assert chosen[0] > chosen[-1]


def test_fit_to_bits_floors_real_budgets(images):
    codec = JPEGCodec()
    assert fit_to_bits(codec, images[0], 900.99) == fit_to_budget(codec, images[0], 900)
    assert fit_to_bits(codec, images[0], float("inf")).quality == codec.qualities[0]
    assert not fit_to_bits(codec, images[0], 3.5).ok
    with pytest.raises(ValueError):
        fit_to_bits(codec, images[0], -1.0)
