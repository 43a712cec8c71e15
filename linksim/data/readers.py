"""Readers for the two layouts users have CIFAR-10 in: Python pickles and an image folder.

- ``cifar-10-batches-py``: ``data_batch_1..5`` (train), ``test_batch`` (test)
  and ``batches.meta`` (class names), as distributed by the CIFAR authors and
  cached by Keras. Each batch is a pickled dict with ``data`` ([n, 3072] uint8,
  channel-major) and ``labels``. Pickles can run code, so they are read with an
  unpickler that only admits the numpy types these files contain.
- image folder: ``<root>/<split>/<class>/*.{png,jpg,jpeg}``, class names are the
  sorted folder names (Keras ``image_dataset_from_directory``/torchvision
  ``ImageFolder`` layout).

Bad files never turn into wrong pixels: a file that cannot be decoded, is
truncated, is not 32x32, or has a colour mode without an exact RGB meaning is
*skipped* with one :class:`DataWarning` naming the file and the reason.
Grayscale (``L``) and palette (``P``) files are converted exactly to RGB
(gray replicated, palette expanded); ``RGBA``/``LA`` are accepted only when
fully opaque. Images are never resized: a 64x64 file is rejected, not scaled.
"""
from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from linksim.data.images import IMAGE_SHAPE, IMAGE_SIZE, DataError, DataWarning, ImageSet, image_shape, select_subset

PICKLE_DIR = "cifar-10-batches-py"
_PICKLE_BATCHES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
_EXACT_RGB_MODES = {"RGB", "L", "P", "RGBA", "LA"}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except the numpy array constructors CIFAR pickles use.

    (``_codecs.encode`` is how Python 3 protocol-2 pickles store ``bytes``.)
    """

    _ALLOWED = {"_reconstruct", "ndarray", "dtype", "scalar"}

    def find_class(self, module: str, name: str) -> Any:
        if (module.split(".")[0] == "numpy" and name in self._ALLOWED) or (module, name) == ("_codecs", "encode"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR pickle")


def _unpickle(path: Path) -> dict[str, Any]:
    """Load one CIFAR pickle (Python 2 or 3) into a dict with ``str`` keys."""
    with path.open("rb") as f:
        obj = _NumpyOnlyUnpickler(f, encoding="bytes").load()
    if not isinstance(obj, dict):
        raise pickle.UnpicklingError(f"expected a dict, got {type(obj).__name__}")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def is_pickle_dir(path: Path) -> bool:
    """True if ``path`` looks like a ``cifar-10-batches-py`` directory (has a batch or meta file)."""
    return any((path / name).is_file() for name in ("test_batch", "data_batch_1", "batches.meta"))


def read_cifar_pickles(root: Path, split: str, image_size: int = IMAGE_SIZE) -> ImageSet:
    """Read one split of a ``cifar-10-batches-py`` directory (32x32 images only).

    Parameters
    ----------
    root : Path
        The ``cifar-10-batches-py`` directory.
    split : "train" | "test"
        ``train`` reads ``data_batch_1..5`` (those present), ``test`` reads ``test_batch``.

    Returns
    -------
    ImageSet
        ``images`` [N, 32, 32, 3] uint8, ``labels`` [N] int64, class names from
        ``batches.meta`` (``label_names``), or ``class_0..`` if it is absent.
        A batch file that cannot be unpickled or has the wrong layout is skipped
        with a :class:`DataWarning`.

    Raises
    ------
    DataError
        No readable batch of ``split`` in ``root``.
    """
    if image_size != IMAGE_SHAPE[0]:
        raise DataError(f"CIFAR-10 pickles in {root} hold {IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]} images, "
                        f"not {image_size}x{image_size}; use an image folder of that size")
    images, labels = [], []
    for name in _PICKLE_BATCHES[split]:
        path = root / name
        if not path.is_file():
            continue
        try:
            batch = _unpickle(path)
            data = np.asarray(batch["data"], dtype=np.uint8)
            lab = np.asarray(batch["labels"], dtype=np.int64).reshape(-1)
            data = data.reshape(-1, IMAGE_SHAPE[2], IMAGE_SHAPE[0], IMAGE_SHAPE[1])
            if data.shape[0] != lab.shape[0]:
                raise ValueError(f"{data.shape[0]} images but {lab.shape[0]} labels")
        except (OSError, EOFError, pickle.UnpicklingError, KeyError, ValueError, TypeError) as exc:
            warnings.warn(f"skipped CIFAR batch {path}: {exc}", DataWarning, stacklevel=3)
            continue
        images.append(data.transpose(0, 2, 3, 1))
        labels.append(lab)
    if not images:
        raise DataError(f"no readable CIFAR-10 {split} batch ({', '.join(_PICKLE_BATCHES[split])}) in {root}")
    lab = np.concatenate(labels)
    meta = root / "batches.meta"
    if meta.is_file():
        names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in _unpickle(meta)["label_names"])
    else:
        names = tuple(f"class_{i}" for i in range(int(lab.max()) + 1))
    return ImageSet(
        images=np.ascontiguousarray(np.concatenate(images)),
        labels=lab,
        class_names=names,
        source=f"CIFAR-10 pickles {root} ({split})",
    )


def _decode_file(path: Path, image_size: int = IMAGE_SIZE) -> np.ndarray:
    """Decode one image file to [S, S, 3] uint8 (S = ``image_size``), or raise ValueError/OSError saying why not."""
    with Image.open(path) as img:
        img.load()  # force full decoding: a truncated file fails here, not later
        if img.size != (image_size, image_size):
            raise ValueError(f"size {img.width}x{img.height}, expected {image_size}x{image_size}")
        if img.mode not in _EXACT_RGB_MODES:
            raise ValueError(f"colour mode {img.mode} has no exact RGB conversion")
        rgba = np.asarray(img.convert("RGBA"))
    if (rgba[..., 3] != 255).any():
        raise ValueError("has transparent pixels")
    return rgba[..., :3]


def read_image_folder(root: Path, split: str, limit: int | None, seed: int,
                      image_size: int = IMAGE_SIZE) -> ImageSet:
    """Read ``<root>/<split>/<class>/*.{png,jpg,jpeg}``, decoding only the selected subset.

    Parameters
    ----------
    root : Path
        Folder holding one sub-folder per split.
    split : str
        Sub-folder name, e.g. ``"test"``.
    limit, seed
        Subset rule of :func:`linksim.data.images.select_subset`, applied to the
        file list (sorted by class, then file name) *before* decoding, so a
        small subset of 50,000 files is fast. Skipped bad files are not
        replaced, so the result can hold fewer than ``limit`` images.
    image_size : int
        Side S of the square images to read; a file of another size is skipped
        (named in a :class:`DataWarning`), never resized behind the user's back.

    Returns
    -------
    ImageSet
        ``images`` [N, S, S, 3] uint8, ``labels`` [N] int64 (index of the
        class folder in sorted order).

    Raises
    ------
    DataError
        ``<root>/<split>`` has no class folder with image files, or none decodes.
    """
    split_dir = root / split
    class_names = tuple(sorted(p.name for p in split_dir.iterdir() if p.is_dir())) if split_dir.is_dir() else ()
    files: list[Path] = []
    file_labels: list[int] = []
    for index, name in enumerate(class_names):
        found = sorted(p for p in (split_dir / name).iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
        files += found
        file_labels += [index] * len(found)
    if not files:
        raise DataError(f"no image files in {split_dir}/<class>/*.png|jpg|jpeg")
    labels = np.asarray(file_labels, dtype=np.int64)
    keep = select_subset(len(files), labels, limit, seed)
    images = np.empty((keep.size, *image_shape(image_size)), dtype=np.uint8)
    good = np.zeros(keep.size, dtype=bool)
    for row, index in enumerate(keep):
        try:
            images[row] = _decode_file(files[index], image_size)
            good[row] = True
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            warnings.warn(f"skipped image {files[index]}: {exc}", DataWarning, stacklevel=3)
    if not good.any():
        raise DataError(f"none of the {keep.size} selected image files in {split_dir} could be read")
    return ImageSet(
        images=images[good],
        labels=labels[keep][good],
        class_names=class_names,
        source=f"image folder {split_dir} ({len(class_names)} classes, {len(files)} files)",
    )
