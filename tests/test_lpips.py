"""LPIPS hook: the distance's properties and the weight loading users run (on random weights: none ship)."""
from __future__ import annotations

import numpy as np
import pytest

from linksim.data import DataError
from linksim.data.lpips import CHANNELS, ENV, LPIPS


@pytest.fixture(scope="module")
def metric():
    import keras
    keras.utils.set_random_seed(0)
    lin = [np.random.default_rng(i).uniform(0, 1, c) for i, c in enumerate(CHANNELS)]
    return LPIPS(None, lin)


def _images(seed, n=3):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3)).astype(np.uint8)


def test_distance_is_zero_for_identical_images_symmetric_and_grows_with_distortion(metric):
    a = _images(1)
    assert np.allclose(metric(a, a), 0.0, atol=1e-7)
    noisy = [np.clip(a + np.random.default_rng(2).normal(0, s, a.shape), 0, 255).astype(np.uint8)
             for s in (4, 40)]
    d_small, d_large = metric(a, noisy[0]), metric(a, noisy[1])
    np.testing.assert_allclose(metric(noisy[1], a), d_large, rtol=1e-5)
    assert d_small.shape == (3,) and (d_small > 0).all() and (d_large > d_small).all()


def test_weights_folder_round_trip_and_env(metric, tmp_path, monkeypatch):
    metric.features.save_weights(tmp_path / "vgg16.weights.h5")       # the backbone's full layout
    np.savez(tmp_path / "lin.npz", **{f"lin{i}": w for i, w in enumerate(metric.lin)})
    monkeypatch.delenv(ENV, raising=False)
    assert LPIPS.from_env() is None                                     # unset: no LPIPS column
    monkeypatch.setenv(ENV, str(tmp_path))
    loaded = LPIPS.from_env()
    a, b = _images(3), _images(4)
    np.testing.assert_allclose(loaded(a, b), metric(a, b), rtol=1e-5)


def test_missing_or_malformed_weights_are_named(tmp_path):
    with pytest.raises(DataError, match="no vgg16.weights.h5 or lin.npz"):
        LPIPS.from_dir(tmp_path)
    with pytest.raises(DataError, match="5 non-negative vectors"):
        LPIPS(None, [np.ones(3)] * 5)
