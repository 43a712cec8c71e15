"""Image data sets: CIFAR-10 (pickles or image folder) with an offline fallback, and image metrics.

Every loader returns an :class:`ImageSet` of uint8 images [N, 32, 32, 3]; its
``source`` line goes into the results so a figure says which pixels it used.
"""
from linksim.data.images import IMAGE_SHAPE, DataError, DataWarning, ImageSet, select_subset
from linksim.data.loader import ENV_VAR, load_images

__all__ = ["ENV_VAR", "IMAGE_SHAPE", "DataError", "DataWarning", "ImageSet", "load_images", "select_subset"]
