"""Data sets: pickle and image-folder readers, bad files, resolution order, fallback, subsets, metrics."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from linksim.data import DataError, DataWarning, load_images, loader, select_subset
from linksim.data.metrics import PSNR_CAP_DB, ms_ssim, psnr, ssim
from linksim.data.samples import SAMPLES_SOURCE

RNG = np.random.default_rng(7)


def _write_batch(path: Path, images: np.ndarray, labels: list[int]) -> None:
    """A CIFAR-style batch: dict with bytes keys, channel-major [n, 3072] data (as the originals)."""
    data = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    with path.open("wb") as f:
        pickle.dump({b"batch_label": b"test", b"labels": labels, b"data": data}, f, protocol=2)


@pytest.fixture
def pickle_dir(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    arrays = {}
    for name, n in (("test_batch", 12), ("data_batch_1", 5), ("data_batch_2", 4)):
        images = RNG.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        _write_batch(root / name, images, [i % 3 for i in range(n)])
        arrays[name] = images
    with (root / "batches.meta").open("wb") as f:
        pickle.dump({b"label_names": [b"plane", b"car", b"bird"], b"num_vis": 3072}, f, protocol=2)
    return root, arrays


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """<tmp>/imgs/test/{cat,dog}/NN.png with known pixels (PNG is lossless)."""
    root = tmp_path / "imgs"
    for cls in ("dog", "cat"):
        (root / "test" / cls).mkdir(parents=True)
        for i in range(3):
            pixels = np.full((32, 32, 3), (i * 40, 100 if cls == "cat" else 200, 7), dtype=np.uint8)
            Image.fromarray(pixels).save(root / "test" / cls / f"{i:02d}.png")
    return root


def test_pickle_reader_matches_written_pixels_and_names(pickle_dir):
    root, arrays = pickle_dir
    test = load_images(str(root), split="test")
    assert test.images.dtype == np.uint8 and test.images.shape == (12, 32, 32, 3)
    np.testing.assert_array_equal(test.images, arrays["test_batch"])
    np.testing.assert_array_equal(test.labels, [i % 3 for i in range(12)])
    assert test.class_names == ("plane", "car", "bird") and test.has_labels
    assert str(root) in test.source
    train = load_images(root.parent, split="train")  # the parent of cifar-10-batches-py works too
    np.testing.assert_array_equal(train.images, np.concatenate([arrays["data_batch_1"], arrays["data_batch_2"]]))


def test_pickle_with_foreign_global_is_skipped_and_named(pickle_dir):
    root, arrays = pickle_dir
    with (root / "data_batch_2").open("wb") as f:
        pickle.dump({b"data": os.getcwd, b"labels": []}, f)  # a callable global: never executed
    with pytest.warns(DataWarning, match="data_batch_2"):
        train = load_images(root, split="train")
    np.testing.assert_array_equal(train.images, arrays["data_batch_1"])


def test_image_folder_reader(folder):
    data = load_images(folder, split="test")
    assert data.class_names == ("cat", "dog")
    np.testing.assert_array_equal(data.labels, [0, 0, 0, 1, 1, 1])
    assert data.images.shape == (6, 32, 32, 3) and data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.images[4, 0, 0], [40, 200, 7])  # dog/01.png


def test_corrupt_truncated_wrong_size_and_modes(folder):
    cat = folder / "test" / "cat"
    (cat / "garbage.jpg").write_bytes(b"\xff\xd8 not a jpeg at all")
    good = (cat / "00.png").read_bytes()
    (cat / "truncated.png").write_bytes(good[: len(good) // 2])
    Image.fromarray(np.zeros((32, 33, 3), np.uint8)).save(cat / "wide.png")
    Image.fromarray(np.full((32, 32), 77, np.uint8), "L").save(cat / "gray.png")
    rgba = np.full((32, 32, 4), 255, np.uint8)
    rgba[0, 0, 3] = 0
    Image.fromarray(rgba, "RGBA").save(cat / "transparent.png")
    with pytest.warns(DataWarning) as record:
        data = load_images(folder, split="test")
    messages = [str(w.message) for w in record]
    assert len(messages) == 4  # one line per bad file
    expected = {"garbage.jpg": "", "truncated.png": "", "wide.png": "33x32", "transparent.png": "transparent"}
    for name, reason in expected.items():
        assert any(name in m and reason in m for m in messages), (name, messages)
    assert all("\n" not in m for m in messages)
    assert len(data) == 7  # 6 good + the grayscale file, converted
    gray = data.images[np.flatnonzero((data.images == 77).all(axis=(1, 2, 3)))]
    assert gray.shape == (1, 32, 32, 3)


def test_missing_path_is_one_line_naming_the_place(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError) as err:
        load_images(missing)
    assert str(missing) in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty"):
        load_images(tmp_path / "empty")
    monkeypatch.setenv("LINKSIM_DATA", str(missing))
    with pytest.raises(DataError, match=r"\$LINKSIM_DATA"):
        load_images("auto")  # an explicit env var is never silently replaced by the fallback


@pytest.fixture
def no_cifar(tmp_path, monkeypatch):
    monkeypatch.delenv("LINKSIM_DATA", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_fallback_without_env_or_keras_cache(no_cifar):
    with pytest.warns(DataWarning, match="Keras cache"):
        data = load_images(download=False)
    assert data.source.startswith(SAMPLES_SOURCE)
    assert not data.has_labels and data.labels is None
    assert data.images.shape[1:] == (32, 32, 3) and data.images.dtype == np.uint8 and len(data) > 100
    assert data.images.std() > 30  # real photographs, not a constant


def test_failed_download_falls_back_quietly(no_cifar, monkeypatch):
    def offline() -> None:
        raise OSError("Name or service not known")

    monkeypatch.setattr(loader, "_download_with_keras", offline)
    with pytest.warns(DataWarning, match="download failed.*Name or service"):
        data = load_images(None)
    assert data.source.startswith(SAMPLES_SOURCE)
    with pytest.raises(DataError, match="download failed"):
        load_images("keras")


def test_keras_cache_is_used(no_cifar, tmp_path, monkeypatch, pickle_dir):
    root, arrays = pickle_dir
    cache = tmp_path / "kh" / "datasets" / "cifar-10-batches-py-target"
    cache.mkdir(parents=True)
    root.rename(cache / "cifar-10-batches-py")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    data = load_images(download=False)
    np.testing.assert_array_equal(data.images, arrays["test_batch"])


def test_subset_is_stratified_and_deterministic():
    labels = np.repeat(np.arange(10), 100)
    a = select_subset(1000, labels, 55, seed=3)
    np.testing.assert_array_equal(a, select_subset(1000, labels, 55, seed=3))
    assert not np.array_equal(a, select_subset(1000, labels, 55, seed=4))
    counts = np.bincount(labels[a], minlength=10)
    assert counts.sum() == 55 and counts.max() - counts.min() <= 1
    assert np.all(np.diff(a) > 0)
    assert select_subset(1000, None, 5, seed=0).size == 5
    np.testing.assert_array_equal(select_subset(7, None, None, 0), np.arange(7))


def test_folder_subset_equals_subset_of_full_load(folder):
    full = load_images(folder, split="test")
    part = load_images(folder, split="test", limit=4, seed=11)
    keep = select_subset(len(full), full.labels, 4, 11)
    np.testing.assert_array_equal(part.images, full.images[keep])
    assert "limit=4 seed=11" in part.source


def test_workplace_cifar_copy_via_env():
    path = os.environ.get("LINKSIM_DATA")
    if not path or not Path(path).is_dir():
        pytest.skip("LINKSIM_DATA does not point to a CIFAR-10 copy")
    data = load_images(limit=20)
    assert len(data) == 20 and data.has_labels and len(data.class_names) == 10


def test_psnr_values_and_cap():
    x = RNG.integers(0, 250, (4, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_allclose(psnr(x, x + 5), 10 * np.log10(255**2 / 25))
    assert psnr(x[0], x[0]).tolist() == [PSNR_CAP_DB]
    with pytest.raises(ValueError):
        psnr(x, x.astype(np.float32))


def test_ssim_matches_skimage_and_ms_ssim_orders_noise():
    from skimage.metrics import structural_similarity

    x = load_images("samples").images[::20]
    noisy = [np.clip(x + RNG.normal(0, s, x.shape), 0, 255).astype(np.uint8) for s in (5, 20)]
    ours = ssim(x, noisy[0])
    ref = [
        structural_similarity(a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False, data_range=255)
        for a, b in zip(x, noisy[0])
    ]
    np.testing.assert_allclose(ours, ref, atol=1e-4)
    np.testing.assert_allclose(ms_ssim(x, x), 1.0, atol=1e-6)
    weak, strong = ms_ssim(x, noisy[0]), ms_ssim(x, noisy[1])
    assert weak.shape == (len(x),) and np.all(strong < weak) and np.all(weak < 1)


def test_the_image_size_is_a_data_value_not_a_literal(tmp_path, pickle_dir):
    """image_size 64: an image folder of 64x64 files is read, 32x32 files are named and skipped;
    the pickles (32x32 only) refuse in one line; the fallback is cut into 64x64 tiles."""
    cat = tmp_path / "set" / "test" / "cat"
    cat.mkdir(parents=True)
    big = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(big).save(cat / "big.png")
    Image.fromarray(big[:32, :32]).save(cat / "small.png")
    with pytest.warns(DataWarning, match=r"small.png: size 32x32, expected 64x64"):
        data = load_images(tmp_path / "set", "test", image_size=64)
    assert data.images.shape == (1, 64, 64, 3) and np.array_equal(data.images[0], big)
    with pytest.raises(DataError, match="hold 32x32 images, not 64x64"):
        load_images(pickle_dir[0], "test", image_size=64)
    tiles = load_images("samples", image_size=64)
    assert tiles.images.shape[1:] == (64, 64, 3) and len(tiles) > 10
