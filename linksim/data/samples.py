"""Offline fallback: 32x32 crops of real photographs shipped inside scikit-image.

Why: a machine without CIFAR-10 and without internet must still run every
scenario end to end on *natural* images (codec rates and PSNR on noise or
synthetic patterns would be meaningless). The crops are not CIFAR-10: they are
unlabelled, and their statistics differ (results carry ``source`` saying so).

Construction (deterministic, no randomness): each RGB photograph below is
resized with Lanczos filtering so its short side is 32, 64 and 128 pixels
(the whole scene, then quarters, then sixteenths, roughly CIFAR's "one object
fills the frame" scale), and each resized image is cut into non-overlapping
32x32 tiles in raster order (partial tiles at the right/bottom edge dropped).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image
from skimage import data as skdata

from linksim.data.images import IMAGE_SIZE, ImageSet, image_shape

SAMPLES_SOURCE = "scikit-image sample photographs (fallback, not CIFAR-10)"

_PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": skdata.astronaut,
    "chelsea": skdata.chelsea,
    "coffee": skdata.coffee,
    "rocket": skdata.rocket,
    "motorcycle": lambda: skdata.stereo_motorcycle()[0],
}
_SCALES = (1, 2, 4)
"""Short sides of the resized photographs, in image sides (32, 64, 128 pixels at 32)."""


def _tiles(photo: np.ndarray, short_side: int, size: int = IMAGE_SIZE) -> np.ndarray:
    """Resize ``photo`` [H, W, 3] uint8 to the given short side and cut it into [n, size, size, 3] tiles."""
    img = Image.fromarray(photo)
    scale = short_side / min(img.size)
    width, height = round(img.width * scale), round(img.height * scale)
    small = np.asarray(img.resize((width, height), Image.Resampling.LANCZOS))
    rows, cols = height // size, width // size
    grid = small[: rows * size, : cols * size].reshape(rows, size, cols, size, 3)
    return grid.transpose(0, 2, 1, 3, 4).reshape(-1, *image_shape(size))


def sample_photographs(image_size: int = IMAGE_SIZE) -> ImageSet:
    """All fallback crops of side ``image_size``, in the fixed order photo -> scale -> raster position.

    Returns
    -------
    ImageSet
        ``images`` [N, 32, 32, 3] uint8 (N = 139), ``labels`` None,
        ``class_names`` empty, ``source`` = :data:`SAMPLES_SOURCE`.
    """
    crops = [_tiles(load(), scale * image_size, image_size)
             for load in _PHOTOS.values() for scale in _SCALES]
    return ImageSet(images=np.concatenate(crops), labels=None, class_names=(), source=SAMPLES_SOURCE)
