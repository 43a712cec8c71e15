"""Two-view segmentation data of seed 001 (Wu & Gao, Sec. IV-B): MFNet RGB-Thermal, or a declared CIFAR-10 stand-in.

UE 1 sends a 3-channel RGB view, UE 2 a 1-channel view of the same scene; the
BS predicts a per-pixel class map (mIoU, eq. 29, :func:`linksim.data.metrics.mean_iou`).

**MFNet RGB-Thermal** (Ha et al. 2017, the paper's data set; 1,569 pairs,
480 x 640, classes 0 = unlabelled and 1..8 = car, person, bike, curve,
car_stop, guardrail, color_cone, bump). Its public layout, as the MFNet /
RTFNet loaders read it::

    <root>/train.txt, val.txt, test.txt     one image name per line, no extension
    <root>/images/<name>.png                4 channels: R, G, B, thermal (PNG RGBA)
    <root>/labels/<name>.png                1 channel, class id 0..8 per pixel

:func:`read_mfnet` reads it (optionally resized: images bilinear, labels
nearest). It is not available offline here, so nothing in this repository
has been run on it.

**CIFAR-10 stand-in** (:func:`cifar_standin`, the default). Declared as a
stand-in in every ``source`` line. From each CIFAR-10 image:

- UE 1: the RGB image;
- UE 2: a single-channel "pseudo-thermal" view: the luminance
  (ITU-R BT.601 weights 0.299, 0.587, 0.114) smoothed by a 3 x 3 binomial
  filter, or (``second_view="edges"``) the Sobel gradient magnitude of the
  luminance scaled to 0..255 (x 255 / (4 sqrt 2 * 255), the largest possible);
- segmentation target: each pixel of the 3 x 3 box-smoothed RGB image gets
  the index of the nearest of :data:`STANDIN_CENTROIDS` (fixed colour
  centroids, Euclidean RGB distance; ties to the lower index), 6 classes;
- classification target: the CIFAR-10 label (second task, accuracy).

Unlike RGB-T, where thermal adds content the camera lacks at night, every
label here is a function of the RGB view; UE 2's view is a correlated,
colour-blind copy (luminance separates dark / grey / bright, not warm / green
/ blue). Fusion gains measured on the stand-in therefore come from diversity
and SNR, not complementary content: say so next to every number.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from linksim.data.images import DataError, DataWarning, ImageSet, select_subset

MFNET_CLASSES: tuple[str, ...] = ("unlabeled", "car", "person", "bike", "curve", "car_stop",
                                  "guardrail", "color_cone", "bump")
"""MFNet's 9 label ids (0 = unlabelled), the paper's C = 9 of eq. (29)."""
MFNET_SPLITS = ("train", "val", "test")

STANDIN_CLASSES: tuple[str, ...] = ("dark", "grey", "bright", "warm", "green", "blue")
"""Segmentation classes of the CIFAR-10 stand-in, one per row of :data:`STANDIN_CENTROIDS`."""
STANDIN_CENTROIDS = np.array([[35, 35, 35], [125, 125, 125], [220, 220, 220],
                              [170, 95, 60], [95, 135, 70], [90, 130, 195]], dtype=np.float64)
"""Fixed RGB centroids of the stand-in's colour-cluster labels (not fitted: the same everywhere)."""
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class MultimodalSet:
    """Aligned two-view images with dense labels.

    Attributes
    ----------
    rgb : [N, H, W, 3], np.uint8
        UE 1's view.
    second : [N, H, W, 1], np.uint8
        UE 2's view (thermal, or the stand-in's derived view).
    masks : [N, H, W], np.uint8
        Class id per pixel, into ``class_names``.
    labels : [N], np.int64, or None
        Image class (stand-in: the CIFAR-10 label); None for MFNet.
    class_names : tuple[str, ...]
        Segmentation classes.
    image_class_names : tuple[str, ...]
        Names of ``labels`` (empty without them).
    source : str
        One line: which data set (stand-in or MFNet), path, split, rule.
    """

    rgb: np.ndarray
    second: np.ndarray
    masks: np.ndarray
    labels: np.ndarray | None
    class_names: tuple[str, ...]
    image_class_names: tuple[str, ...]
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return int(self.rgb.shape[0])


# ---------------------------------------------------------------- MFNet layout

def is_mfnet_dir(path: Path) -> bool:
    """True if ``path`` has MFNet's ``images/`` and ``labels/`` folders and a split list."""
    path = Path(path)
    return ((path / "images").is_dir() and (path / "labels").is_dir()
            and any((path / f"{s}.txt").is_file() for s in MFNET_SPLITS))


def _resize(array: np.ndarray, size: tuple[int, int] | None, resample) -> np.ndarray:
    if size is None or array.shape[:2] == tuple(size):
        return array
    return np.asarray(Image.fromarray(array).resize((size[1], size[0]), resample=resample))


def _read_pair(root: Path, name: str, size) -> tuple[np.ndarray, np.ndarray]:
    """(RGBT [H, W, 4] uint8, label [H, W] uint8) of one MFNet sample, or ValueError/OSError why not."""
    with Image.open(root / "images" / f"{name}.png") as img:
        img.load()
        image = np.asarray(img)
    with Image.open(root / "labels" / f"{name}.png") as lab:
        lab.load()
        label = np.asarray(lab)
    if image.ndim != 3 or image.shape[2] != 4:
        raise ValueError(f"image has shape {image.shape}, expected H x W x 4 (R, G, B, thermal)")
    if label.ndim != 2 or label.shape != image.shape[:2]:
        raise ValueError(f"label shape {label.shape} does not match the image's {image.shape[:2]}")
    if label.max() >= len(MFNET_CLASSES):
        raise ValueError(f"label id {int(label.max())} outside 0..{len(MFNET_CLASSES) - 1}")
    # images bilinear (each channel on its own), labels nearest (no invented classes)
    channels = [_resize(np.ascontiguousarray(image[..., c]), size, Image.BILINEAR) for c in range(4)]
    return np.stack(channels, -1), _resize(label.astype(np.uint8), size, Image.NEAREST)


def read_mfnet(root: str | os.PathLike, split: str = "train", size: tuple[int, int] | None = None,
               limit: int | None = None, seed: int = 0) -> MultimodalSet:
    """Read one split of the MFNet RGB-Thermal layout (see the module docstring).

    Parameters
    ----------
    root : path
        Folder with ``images/``, ``labels/`` and ``<split>.txt``.
    split : "train" | "val" | "test"
    size : None | (H, W)
        Resize every pair to H x W (images bilinear, labels nearest); None:
        keep 480 x 640 (all pairs must then share one size).
    limit, seed
        A seeded subset of ``limit`` names (:func:`linksim.data.images.select_subset`),
        chosen before decoding.

    Returns
    -------
    MultimodalSet
        ``rgb`` [N, H, W, 3], ``second`` [N, H, W, 1] (thermal), ``masks``
        [N, H, W] ids 0..8, ``labels`` None. A pair that cannot be read, has
        the wrong channels, or ids > 8 is skipped with a :class:`DataWarning`.

    Raises
    ------
    DataError
        No ``<split>.txt``, an empty list, or no readable pair.
    """
    root = Path(root).expanduser()
    if split not in MFNET_SPLITS:
        raise DataError(f"MFNet split must be one of {', '.join(MFNET_SPLITS)}, got {split!r}")
    listing = root / f"{split}.txt"
    if not listing.is_file():
        raise DataError(f"no MFNet split list {listing} (expected <root>/{split}.txt with "
                        f"images/ and labels/ beside it)")
    names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    if not names:
        raise DataError(f"MFNet split list {listing} is empty")
    keep = select_subset(len(names), None, limit, seed)
    pairs, shapes = [], set()
    for index in keep:
        try:
            image, label = _read_pair(root, names[index], size)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            warnings.warn(f"skipped MFNet pair {root}/images/{names[index]}.png: {exc}",
                          DataWarning, stacklevel=2)
            continue
        pairs.append((image, label))
        shapes.add(label.shape)
    if not pairs:
        raise DataError(f"none of the {keep.size} selected MFNet pairs in {root} ({split}) could be read")
    if len(shapes) > 1:
        raise DataError(f"MFNet pairs in {root} have several sizes {sorted(shapes)}: pass size=(H, W)")
    images = np.stack([p[0] for p in pairs])
    subset = "" if limit is None else f", subset limit={limit} seed={seed}"
    return MultimodalSet(
        rgb=np.ascontiguousarray(images[..., :3]), second=np.ascontiguousarray(images[..., 3:]),
        masks=np.stack([p[1] for p in pairs]), labels=None, class_names=MFNET_CLASSES,
        image_class_names=(),
        source=(f"MFNet RGB-Thermal {root} ({split}, {len(pairs)} of {len(names)} pairs, "
                f"{images.shape[1]}x{images.shape[2]}{subset})"))


# ---------------------------------------------------------------- CIFAR-10 stand-in

def _filter3(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """3 x 3 correlation of [N, H, W] (or [N, H, W, C] per channel) with edge replication."""
    pad = [(0, 0), (1, 1), (1, 1)] + [(0, 0)] * (x.ndim - 3)
    p = np.pad(x, pad, mode="edge")
    h, w = x.shape[1:3]
    return sum(kernel[i, j] * p[:, i:i + h, j:j + w] for i in range(3) for j in range(3))


_BINOMIAL = np.outer([1, 2, 1], [1, 2, 1]) / 16.0
_BOX = np.full((3, 3), 1 / 9)
_SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luminance [N, H, W] float64 in 0..255 of uint8 RGB [N, H, W, 3]."""
    return rgb.astype(np.float64) @ LUMA_WEIGHTS


def second_view(rgb: np.ndarray, kind: str = "luma") -> np.ndarray:
    """UE 2's derived view [N, H, W, 1] uint8: smoothed luminance (``luma``) or Sobel magnitude (``edges``)."""
    y = luminance(rgb)
    if kind == "luma":
        out = _filter3(y, _BINOMIAL)
    elif kind == "edges":
        mag = np.hypot(_filter3(y, _SOBEL_X), _filter3(y, _SOBEL_X.T))
        out = mag / (4 * np.sqrt(2))                      # |grad| <= 4 sqrt(2) 255
    else:
        raise ValueError(f"second view must be 'luma' or 'edges', got {kind!r}")
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)[..., None]


def colour_cluster_masks(rgb: np.ndarray) -> np.ndarray:
    """Stand-in segmentation [N, H, W] uint8: nearest :data:`STANDIN_CENTROIDS` of the box-smoothed RGB."""
    smooth = _filter3(rgb.astype(np.float64), _BOX)                       # [N, H, W, 3]
    d = ((smooth[..., None, :] - STANDIN_CENTROIDS) ** 2).sum(-1)         # [N, H, W, C]
    return np.argmin(d, -1).astype(np.uint8)


def cifar_standin(images: ImageSet, second: str = "luma") -> MultimodalSet:
    """The declared CIFAR-10 stand-in for RGB-Thermal (module docstring) from an :class:`ImageSet`."""
    return MultimodalSet(
        rgb=images.images, second=second_view(images.images, second),
        masks=colour_cluster_masks(images.images), labels=images.labels,
        class_names=STANDIN_CLASSES, image_class_names=images.class_names,
        source=(f"STAND-IN for MFNet RGB-Thermal: {images.source}; UE 2 view {second}, "
                f"{len(STANDIN_CLASSES)} fixed colour-cluster classes"))


def load_multimodal(spec: str | os.PathLike | None = None, split: str = "test",
                    limit: int | None = None, seed: int = 0, size: tuple[int, int] | None = None,
                    second: str = "luma", download: bool = True) -> MultimodalSet:
    """MFNet if ``spec`` is a folder in its layout, else the CIFAR-10 stand-in from ``load_images(spec)``.

    ``size`` resizes MFNet pairs (H, W); the stand-in keeps CIFAR's 32 x 32
    (``size`` must then be None or (32, 32)). CIFAR-10 has no ``val`` split:
    hold validation out of ``train``.
    """
    if spec not in (None, "auto", "keras", "samples") and is_mfnet_dir(Path(spec).expanduser()):
        return read_mfnet(spec, split, size, limit, seed)
    if split == "val":
        raise DataError("the CIFAR-10 stand-in has splits train and test only (MFNet has val)")
    if size not in (None, (32, 32)):
        raise DataError(f"the CIFAR-10 stand-in is 32x32; size {size} applies to MFNet only")
    from linksim.data.loader import load_images

    return cifar_standin(load_images(spec, split, limit, seed, download), second)
