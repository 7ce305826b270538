"""What ``tools/segment.py`` segments: an image, a folder of images
(walked recursively) or a video, and the images int8 calibrates on."""

import os
import os.path as osp

import cv2

from .input_images import (
    InputImageError,
    check_min_size,
    fit_max_size,
    read_image,
)

VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv')
IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
CALIB_IMAGES = 8


def is_video(path):
    """Whether ``path`` is a video file (by its extension)."""
    return osp.isfile(path) and path.lower().endswith(VIDEO_EXTS)


def list_images(path, exclude=None):
    """``[(file, relative stem)]`` of an image or a folder (recursive),
    leaving out the folder ``exclude`` (the outputs of an earlier run
    written inside the input folder).

    Two files of a folder with the same stem (``x.png``, ``x.jpg``) are
    refused: they would write the same outputs.
    """
    if not osp.isdir(path):
        return [(path, osp.splitext(osp.basename(path))[0])]
    skip = osp.realpath(exclude) if exclude else None
    found = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(
            d for d in dirs if osp.realpath(osp.join(root, d)) != skip
        )
        for name in sorted(files):
            if name.lower().endswith(IMAGE_EXTS):
                file = osp.join(root, name)
                found.append((file, osp.splitext(osp.relpath(file, path))[0]))
    if not found:
        raise InputImageError(
            f'no images ({", ".join(IMAGE_EXTS)}) in folder {path}'
        )
    seen = {}
    for file, stem in found:
        if stem in seen:
            raise InputImageError(
                f'{seen[stem]} and {file} would write the same outputs '
                f'({stem}.png); rename one of them'
            )
        seen[stem] = file
    return found


def calibration_images(
    path, max_size, count=CALIB_IMAGES, exclude=None, read=read_image
):
    """Up to ``count`` readable images (BGR) of an image, a folder (but
    not its sub-folder ``exclude``) or the first frames of a video, read
    by ``read`` and shrunk as they will be segmented."""
    images = []
    if is_video(path):
        reader = cv2.VideoCapture(path)
        while len(images) < count:
            ok, frame = reader.read()
            if not ok:
                break
            images.append(frame)
        reader.release()
    else:
        for file, _ in list_images(path, exclude):
            try:
                img = read(file)
                check_min_size(img, file)
            except InputImageError:
                continue
            images.append(img)
            if len(images) == count:
                break
    if not images:
        raise InputImageError(f'no readable calibration images in {path}')
    return [fit_max_size(img, max_size) for img in images]
