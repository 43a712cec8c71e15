"""Seed 001 data: the MFNet RGB-Thermal reader (on a tiny synthetic set), the CIFAR-10 stand-in, mIoU (eq. 29)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from linksim.data.images import DataError, DataWarning, ImageSet
from linksim.data.metrics import class_ious, mean_iou
from linksim.data.multimodal import (MFNET_CLASSES, STANDIN_CENTROIDS, STANDIN_CLASSES,
                                     cifar_standin, colour_cluster_masks, is_mfnet_dir,
                                     load_multimodal, read_mfnet, second_view)


def _mfnet(root, names=("00001D", "00002N", "00003D"), h=48, w=64, splits=None):
    """A tiny set in MFNet's layout: 4-channel PNG images, 1-channel id labels, split lists."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    truth = {}
    for i, name in enumerate(names):
        rgbt = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        rgbt[..., 3] = 10 * i + 5                                        # thermal: constant per image
        label = np.zeros((h, w), np.uint8)
        label[: h // 2, : w // 2] = i + 1                                 # a block of class i+1
        label[-4:, -4:] = 8                                               # 'bump'
        Image.fromarray(rgbt, "RGBA").save(root / "images" / f"{name}.png")
        Image.fromarray(label, "L").save(root / "labels" / f"{name}.png")
        truth[name] = (rgbt, label)
    splits = splits or {"train": names[:2], "val": names[2:], "test": names[2:]}
    for split, members in splits.items():
        (root / f"{split}.txt").write_text("".join(f"{n}\n" for n in members))
    return truth


def test_mfnet_reader_reads_the_layout(tmp_path):
    truth = _mfnet(tmp_path)
    assert is_mfnet_dir(tmp_path) and not is_mfnet_dir(tmp_path / "images")
    s = read_mfnet(tmp_path, "train")
    assert len(s) == 2 and s.rgb.shape == (2, 48, 64, 3) and s.second.shape == (2, 48, 64, 1)
    assert s.masks.shape == (2, 48, 64) and s.labels is None and s.num_classes == 9
    assert s.class_names == MFNET_CLASSES and s.class_names[8] == "bump"
    np.testing.assert_array_equal(s.rgb[1], truth["00002N"][0][..., :3])
    np.testing.assert_array_equal(s.second[1, ..., 0], truth["00002N"][0][..., 3])
    np.testing.assert_array_equal(s.masks[0], truth["00001D"][1])
    assert "MFNet RGB-Thermal" in s.source and "train" in s.source and "STAND-IN" not in s.source
    assert len(read_mfnet(tmp_path, "test")) == 1


def test_mfnet_resize_keeps_label_ids(tmp_path):
    _mfnet(tmp_path)
    s = read_mfnet(tmp_path, "train", size=(24, 32))
    assert s.rgb.shape == (2, 24, 32, 3) and s.masks.shape == (2, 24, 32)
    assert set(np.unique(s.masks)) == {0, 1, 2, 8}                  # nearest: no invented ids
    assert s.masks[0, :12, :16].min() == 1 and s.masks[0, 12:, :16].max() == 0
    np.testing.assert_array_equal(s.second[1], 15)                  # constant thermal stays
    assert "24x32" in s.source
    via_loader = load_multimodal(tmp_path, "val", size=(24, 32))
    assert len(via_loader) == 1 and via_loader.masks.max() == 8


def test_mfnet_bad_pairs_are_skipped_by_name_and_missing_split_is_one_line(tmp_path):
    _mfnet(tmp_path)
    Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(tmp_path / "images" / "00001D.png")
    Image.fromarray(np.full((48, 64), 12, np.uint8), "L").save(tmp_path / "labels" / "00002N.png")
    with pytest.warns(DataWarning) as caught:
        with pytest.raises(DataError, match="none of the 2 selected"):
            read_mfnet(tmp_path, "train")
    text = " ".join(str(w.message) for w in caught)
    assert "00001D.png" in text and "x 4" in text and "00002N" in text and "id 12" in text
    (tmp_path / "val.txt").unlink()
    with pytest.raises(DataError, match=r"val\.txt") as err:
        read_mfnet(tmp_path, "val")
    assert "\n" not in str(err.value)


def _images(n=4, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    img[0] = (170, 95, 60)                                                # a flat 'warm' image
    img[1, :, :16] = (35, 35, 35)                                         # dark | blue halves
    img[1, :, 16:] = (90, 130, 195)
    return ImageSet(images=img, labels=np.arange(n) % 10, class_names=tuple(f"c{i}" for i in range(10)),
                    source="synthetic")


def test_standin_views_and_targets():
    s = cifar_standin(_images())
    assert s.rgb.shape == (4, 32, 32, 3) and s.second.shape == (4, 32, 32, 1)
    assert s.masks.shape == (4, 32, 32) and s.masks.dtype == np.uint8
    assert s.class_names == STANDIN_CLASSES and s.num_classes == len(STANDIN_CENTROIDS) == 6
    np.testing.assert_array_equal(s.labels, [0, 1, 2, 3])
    assert "STAND-IN" in s.source and "synthetic" in s.source
    assert (s.masks[0] == STANDIN_CLASSES.index("warm")).all()
    assert (s.masks[1, :, :15] == 0).all() and (s.masks[1, :, 17:] == 5).all()
    # luma view: BT.601 luminance of a flat image; a random image is smoothed (less spread)
    assert abs(int(s.second[0, 5, 5, 0]) - round(0.299 * 170 + 0.587 * 95 + 0.114 * 60)) <= 1
    luma = s.rgb[2].astype(float) @ [0.299, 0.587, 0.114]
    assert s.second[2].std() < 0.7 * luma.std()
    assert np.corrcoef(s.second[2, ..., 0].ravel(), luma.ravel())[0, 1] > 0.5     # correlated views
    edges = second_view(s.rgb[:2], "edges")[..., 0]
    assert edges[0].max() == 0 and edges[1, :, 15:17].min() > 40 and edges[1, :, :14].max() == 0
    with pytest.raises(ValueError, match="luma"):
        second_view(s.rgb, "thermal")


def test_standin_from_the_cifar_folder(tmp_path):
    """A labelled folder in CIFAR-10's image-folder layout (what LINKSIM_DATA points to)."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for c, cls in enumerate(("cat", "dog")):
        (tmp_path / "test" / cls).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(rng.integers(0, 256, (1, 1, 3)) + rng.integers(-40, 40, (32, 32, 3)),
                             0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "test" / cls / f"{i:02d}.png")
    s = load_multimodal(str(tmp_path), "test", limit=20, seed=1, download=False)
    assert len(s) == 20 and s.rgb.shape[1:] == (32, 32, 3) and s.labels is not None
    assert "STAND-IN" in s.source
    counts = np.bincount(colour_cluster_masks(s.rgb).ravel(), minlength=6)
    assert (counts > 0).sum() >= 4                                        # the classes occur
    with pytest.raises(DataError, match="train and test"):
        load_multimodal(None, "val", download=False)


def test_mean_iou_on_hand_made_masks():
    target = np.array([[0, 0, 1, 1],
                       [0, 0, 1, 1],
                       [2, 2, 2, 2]])
    assert mean_iou(target, target, 4) == 1.0                             # class 3 absent: ignored
    pred = np.array([[0, 1, 1, 1],
                     [0, 0, 1, 1],
                     [2, 2, 2, 0]])
    # class 0: inter 3, union 5; class 1: inter 4, union 5; class 2: inter 3, union 4
    np.testing.assert_allclose(class_ious(pred, target, 4)[:3], [3 / 5, 4 / 5, 3 / 4])
    assert np.isnan(class_ious(pred, target, 4)[3])
    assert mean_iou(pred, target, 4) == pytest.approx((3 / 5 + 4 / 5 + 3 / 4) / 3)
    # a class only predicted counts with IoU 0
    pred3 = pred.copy()
    pred3[2, 0] = 3
    assert class_ious(pred3, target, 4)[3] == 0.0
    # pooled over images, not averaged per image
    a, b = np.zeros((1, 2, 2), int), np.ones((1, 2, 2), int)
    both = mean_iou(np.concatenate([a, a]), np.concatenate([a, b]), 2)
    assert both == pytest.approx((0.5 + 0.0) / 2)
    with pytest.raises(ValueError, match="0..3"):
        mean_iou(pred + 2, target, 4)
