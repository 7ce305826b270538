"""Semantic segmentation outputs of ``tools/segment.py``: per image a
colour overlay ``OUT/vis/<stem>.png`` and the class indices
``OUT/pred/<stem>_pred.png``.

:class:`SemanticOutputs` is the per-image "predict and write" object the
loop of :mod:`sfseg.apis.segment_files` runs; another task (e.g.
panoptic) gives the loop an object with the same methods.
"""

import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from .input_images import fit_max_size
from .segment_outputs import write_png

# class names are drawn (through matplotlib) up to this size only
LABELS_MAX_PIXELS = 2048 * 2048


def predict_labels(inferencer, img, max_size):
    """``H x W`` class indices for a BGR image at its own size, segmented
    with its long side at most ``max_size`` and scaled back (nearest)."""
    h, w = img.shape[:2]
    small = fit_max_size(img, max_size)
    sample = inferencer(small, return_datasamples=True)
    sample = sample[0] if isinstance(sample, list) else sample
    labels = sample.pred_sem_seg.data[0].cpu().numpy()
    del sample  # the logits are the largest array of the run
    labels = labels.astype(np.uint8 if labels.max() < 256 else np.uint16)
    if labels.shape != (h, w):
        labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
    return labels


def blend(img, labels, palette, alpha):
    """RGB overlay as mmseg's visualiser blends it without class names
    (``image * (1 - alpha) + colour * alpha``, black for labels outside
    the palette), in numpy: the visualiser renders through matplotlib,
    which needs gigabytes and minutes for a 24-megapixel image."""
    lut = np.zeros((max(256, len(palette)), 3), np.uint8)
    lut[: len(palette)] = palette
    colour = lut[labels]
    return (img[:, :, ::-1] * (1 - alpha) + colour * alpha).astype(np.uint8)


def draw_overlay(visualizer, img, labels, name, with_labels=True):
    """RGB overlay of ``labels`` on a BGR image; class names are drawn
    (mmseg's visualiser) on images up to ``LABELS_MAX_PIXELS``."""
    if not with_labels or labels.size > LABELS_MAX_PIXELS:
        meta = visualizer.dataset_meta
        return blend(img, labels, meta['palette'], visualizer.alpha)
    sample = SegDataSample(
        pred_sem_seg=PixelData(data=torch.from_numpy(labels[None].astype(int)))
    )
    visualizer.add_datasample(
        name, img[:, :, ::-1], sample, draw_gt=False, with_labels=True
    )
    return visualizer.get_image()


class SemanticOutputs:
    """Predict and write the outputs of one image (or video frame) with
    an mmseg-style inferencer (:class:`~sfseg.apis.SFSegInferencer`).

    The loop uses ``out_dir``, ``subdirs`` (folders of files named per
    image), ``written`` (``(what, folder)`` pairs for the run summary),
    :meth:`paths`, :meth:`predict`, :meth:`write`, :meth:`overlay` and
    :meth:`finish`.
    """

    subdirs = ('vis', 'pred')
    written = (('overlays', 'vis'), ('label maps', 'pred'))

    def __init__(self, inferencer, out_dir, opacity, max_size):
        self.inferencer = inferencer
        self.out_dir = out_dir
        self.max_size = max_size
        self.visualizer = inferencer.visualizer
        self.visualizer.set_dataset_meta(**inferencer.model.dataset_meta)
        self.visualizer.alpha = opacity

    def paths(self, stem):
        """Output files of the image ``stem``; the last is written last,
        so an image is done when it exists."""
        return (
            osp.join(self.out_dir, 'pred', stem + '_pred.png'),
            osp.join(self.out_dir, 'vis', stem + '.png'),
        )

    def predict(self, img):
        """Class indices of the BGR image ``img``, at its size."""
        return predict_labels(self.inferencer, img, self.max_size)

    def overlay(self, img, labels, name, with_labels=True):
        """RGB overlay of ``labels`` on the BGR image ``img``."""
        return draw_overlay(self.visualizer, img, labels, name, with_labels)

    def write(self, img, labels, stem):
        """Write the label map, then the overlay (which marks it done)."""
        pred, vis = self.paths(stem)
        overlay = self.overlay(img, labels, stem)
        write_png(pred, labels)
        write_png(vis, overlay[..., ::-1])

    def finish(self):
        """Nothing is written per run (a panoptic JSON would be, here)."""
