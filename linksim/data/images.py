"""The in-memory image set every loader returns, its errors, and subset selection."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IMAGE_SIZE: int = 32
"""Default square image side (CIFAR-10); a scenario sets its own (``image_size``)."""
IMAGE_SHAPE: tuple[int, int, int] = (IMAGE_SIZE, IMAGE_SIZE, 3)
"""Height, width, channels of the default image (CIFAR-10 size)."""


def image_shape(size: int = IMAGE_SIZE) -> tuple[int, int, int]:
    """``(size, size, 3)``: the shape of every RGB image of a data set read at side ``size``."""
    return (size, size, 3)


class DataError(Exception):
    """A data set could not be found or read; the message is one line saying where linksim looked."""


class DataWarning(UserWarning):
    """One file of a data set was skipped (corrupt, wrong size, unsupported mode); names the file."""


@dataclass(frozen=True)
class ImageSet:
    """Images to transmit, with their labels and where they came from.

    Attributes
    ----------
    images : [N, S, S, 3], np.uint8
        RGB pixels, S the data set's ``image_size`` (32 for CIFAR-10).
    labels : [N], np.int64, or None
        Class indices into ``class_names``; ``None`` for unlabelled sets
        (the scikit-image fallback), so classification accuracy is not defined.
    class_names : tuple[str, ...]
        Class name per label index; empty when ``labels`` is None.
    source : str
        One-line provenance recorded next to every result (data set, path,
        split, subset rule), so a figure says which pixels it was computed on.
    """

    images: np.ndarray
    labels: np.ndarray | None
    class_names: tuple[str, ...]
    source: str

    @property
    def has_labels(self) -> bool:
        """True when ``labels`` exist, i.e. classification accuracy can be measured."""
        return self.labels is not None

    def __len__(self) -> int:
        return int(self.images.shape[0])


def select_subset(num: int, labels: np.ndarray | None, limit: int | None, seed: int) -> np.ndarray:
    """Indices of a deterministic subset of ``limit`` out of ``num`` items.

    Why: Monte-Carlo runs use a few hundred test images; the subset must be the
    same on every machine and, for labelled sets, cover all classes evenly so
    accuracy is not skewed by an unlucky draw.

    Rule: with labels, *stratified*: each class is shuffled with
    ``np.random.default_rng(seed)``, then items are taken round-robin over the
    classes (first of every class, then second, ...), so per-class counts
    differ by at most one. Without labels: the first ``limit`` of a seeded
    permutation. ``limit=None`` or ``limit >= num`` keeps everything.

    Parameters
    ----------
    num : int
        Number of items.
    labels : [num], int, or None
        Class index per item.
    limit : int or None
        Subset size.
    seed : int
        Seed of the shuffle.

    Returns
    -------
    indices : [min(limit, num)], np.int64
        Selected indices in ascending order (data set order is preserved).
    """
    if limit is None or limit >= num:
        return np.arange(num, dtype=np.int64)
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(num)
    if labels is None:
        return np.sort(order[:limit]).astype(np.int64)
    shuffled_labels = labels[order]
    # rank of each shuffled item within its class: 0 for the first of a class, 1 for the second...
    rank = np.empty(num, dtype=np.int64)
    for cls in np.unique(shuffled_labels):
        members = np.flatnonzero(shuffled_labels == cls)
        rank[members] = np.arange(members.size)
    picked = order[np.lexsort((shuffled_labels, rank))[:limit]]
    return np.sort(picked).astype(np.int64)
