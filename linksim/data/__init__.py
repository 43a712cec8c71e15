"""Image data sets: CIFAR-10 (pickles or image folder) with an offline fallback, and image metrics.

Every loader returns an :class:`ImageSet` of uint8 images [N, S, S, 3] (S = ``image_size``, 32 for CIFAR-10); its
``source`` line goes into the results so a figure says which pixels it used.
"""
from linksim.data.images import IMAGE_SHAPE, IMAGE_SIZE, DataError, DataWarning, ImageSet, select_subset
from linksim.data.loader import ENV_VAR, load_images

__all__ = ["ENV_VAR", "IMAGE_SHAPE", "IMAGE_SIZE", "DataError", "DataWarning", "ImageSet", "load_images", "select_subset"]
