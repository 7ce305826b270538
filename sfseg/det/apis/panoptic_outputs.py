"""Panoptic segmentation outputs of ``tools/segment.py``: per image a
colour overlay ``OUT/vis/<stem>.png`` and the COCO panoptic PNG
``OUT/panoptic/<stem>.png``, and per run ``OUT/panoptic.json``.

The PNG and the JSON are COCO's panoptic format, as mmdet's
``CocoPanopticMetric`` writes its predictions (its ``_parse_predictions``
writes the PNG: segment id ``R + 256 G + 256^2 B``, void 0) and as
panopticapi's ``pq_compute`` reads them: ``annotations`` with
``image_id`` (the image's stem: its path in the input folder without the
extension; map it to a ground truth's ids through its images'
``file_name``), ``file_name`` and ``segments_info`` (``id``,
``category_id``, ``iscrowd``, ``area``, ``bbox`` x, y, w, h), and
``categories`` (``id``, ``name``, ``isthing``). Segment ids are the
model's, ``label + k * INSTANCE_OFFSET`` (k >= 1). Category ids: the
checkpoint's ``dataset_meta['category_ids']``, else those of the
config's test annotation file (matched by class name, as the metric
does) when that file is here, else 1..K in class order
(:func:`~sfseg.det.apis.panoptic_model.category_ids`; the run's summary says
which).

:class:`PanopticOutputs` is the per-image "predict and write" object the
loop of :mod:`sfseg.apis.segment_files` runs, like
:class:`~sfseg.apis.semantic_outputs.SemanticOutputs`.
"""

import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import torch
from mmdet.evaluation import CocoPanopticMetric
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.structures import DetDataSample
from mmdet.visualization import DetLocalVisualizer
from mmdet.visualization.palette import get_palette
from mmengine.structures import PixelData
from panopticapi.utils import rgb2id
from scipy.ndimage import find_objects

from sfseg.apis.input_images import fit_max_size
from sfseg.apis.segment_outputs import partial_name, write_png
from sfseg.apis.semantic_outputs import LABELS_MAX_PIXELS
from sfseg.utils import SFSegUserError

from .panoptic_model import DetectorPredictor, category_ids, num_classes_of

JSON_NAME = 'panoptic.json'
# where the metric's PNG writer writes before the rename into panoptic/
PARTIAL_DIR = '.panoptic.partial'


def segment_index(ids, num_classes):
    """``(segments, index)``: the ``[(id, label)]`` of the segments of a
    panoptic id map (ascending ids, void left out) and the ``H x W``
    index of each pixel's segment in that list (void: ``len(segments)``)."""
    found, inverse = np.unique(ids, return_inverse=True)
    labels = found % INSTANCE_OFFSET
    keep = labels < num_classes
    lut = np.full(len(found), keep.sum(), np.int64)
    lut[keep] = np.arange(keep.sum())
    segments = [(int(i), int(c)) for i, c in zip(found[keep], labels[keep])]
    return segments, lut[inverse.reshape(ids.shape)]


def segment_names(segments, classes, num_things):
    """Class names, things numbered per class (``person 1``, ``person
    2``...) in segment id order."""
    names, seen = [], {}
    for _, label in segments:
        if label < num_things:
            seen[label] = seen.get(label, 0) + 1
            names.append(f'{classes[label]} {seen[label]}')
        else:
            names.append(classes[label])
    return names


def blend(img, index, colours, alpha):
    """RGB overlay without names: each segment's colour blended in
    (``image * (1 - alpha) + colour * alpha``), void left as it is, and
    white segment outlines; in numpy, fast at any size (videos, images
    over ``LABELS_MAX_PIXELS``)."""
    rgb = img[:, :, ::-1].astype(np.float32)
    lut = np.zeros((len(colours) + 1, 3), np.float32)
    lut[: len(colours)] = colours
    seg = index < len(colours)
    rgb[seg] = rgb[seg] * (1 - alpha) + lut[index[seg]] * alpha
    edge = np.zeros(index.shape, bool)
    edge[:, 1:] = index[:, 1:] != index[:, :-1]
    edge[1:] |= index[1:] != index[:-1]
    rgb[edge] = rgb[edge] * (1 - alpha) + 255 * alpha
    return rgb.round().astype(np.uint8)


def draw_overlay(visualizer, img, ids, meta, num_things, with_labels=True):
    """RGB overlay of the panoptic ids on a BGR image, drawn as mmdet's
    ``DetLocalVisualizer`` draws ``pred_panoptic_seg`` (segments in their
    class colour with white outlines, a name on each) but with each thing
    numbered; without names (:func:`blend`) for ``with_labels=False`` and
    images over ``LABELS_MAX_PIXELS``."""
    classes = meta['classes']
    palette = get_palette(meta['palette'], len(classes))
    segments, index = segment_index(ids, len(classes))
    colours = [tuple(palette[label]) for _, label in segments]
    if not segments:
        return np.ascontiguousarray(img[:, :, ::-1])
    if not with_labels or ids.size > LABELS_MAX_PIXELS:
        return blend(img, index, colours, visualizer.alpha)
    # One "class" per segment, coloured as its class: the visualiser then
    # writes each segment's own name (instance numbers included).
    visualizer.dataset_meta = dict(
        classes=segment_names(segments, classes, num_things),
        palette=colours,
    )
    sample = DetDataSample(
        pred_panoptic_seg=PixelData(sem_seg=torch.from_numpy(index[None]))
    )
    visualizer.add_datasample(
        'panoptic', img[:, :, ::-1], sample, draw_gt=False
    )
    return visualizer.get_image()


def segments_info(ids, seg_ids, label2cat):
    """COCO ``segments_info`` of the segments ``seg_ids`` of an id map."""
    found, inverse = np.unique(ids, return_inverse=True)
    inverse = inverse.reshape(ids.shape)
    boxes = find_objects(inverse + 1)  # slices of each value's bbox
    areas = np.bincount(inverse.ravel(), minlength=len(found))
    where = {int(v): k for k, v in enumerate(found)}
    infos = []
    for seg_id in seg_ids:
        k = where[seg_id]
        rows, cols = boxes[k]
        infos.append(
            dict(
                id=int(seg_id),
                category_id=int(label2cat[seg_id % INSTANCE_OFFSET]),
                iscrowd=0,
                area=int(areas[k]),
                bbox=[
                    cols.start,
                    rows.start,
                    cols.stop - cols.start,
                    rows.stop - rows.start,
                ],
            )
        )
    return infos


def read_segments(path, label2cat):
    """``segments_info`` of a panoptic PNG written earlier (its ids give
    each segment's class: ``id % INSTANCE_OFFSET``)."""
    ids = rgb2id(cv2.imread(path, cv2.IMREAD_COLOR)[:, :, ::-1])
    seg_ids = [int(i) for i in np.unique(ids) if i]
    unknown = [i for i in seg_ids if i % INSTANCE_OFFSET not in label2cat]
    if unknown:
        raise SFSegUserError(
            f'{path}: segment id {unknown[0]} is of no class of this model '
            '(written by another model? remove it or use another --out-dir)'
        )
    return segments_info(ids, seg_ids, label2cat)


class PanopticOutputs:
    """Predict and write the panoptic outputs of one image (or video
    frame) with an mmdet panoptic detector
    (:func:`~sfseg.det.apis.panoptic_model.init_panoptic_model`).

    ``predictor`` turns a BGR image into its panoptic ids
    (:class:`~sfseg.det.apis.panoptic_model.DetectorPredictor`, the PyTorch
    detector, by default; another runtime plugs in here). ``model`` gives
    the classes, palette, category ids and thing / stuff split.
    ``finish`` writes ``OUT/panoptic.json`` for every PNG in
    ``OUT/panoptic`` (those of earlier runs, e.g. with
    ``--skip-existing``, read back from the PNG). The loop's interface
    is :class:`~sfseg.apis.semantic_outputs.SemanticOutputs`'.
    """

    subdirs = ('vis', 'panoptic')
    written = (
        ('overlays', 'vis'),
        ('panoptic PNGs', 'panoptic'),
        ('segments', JSON_NAME),
    )

    def __init__(self, model, out_dir, opacity, max_size, predictor=None):
        self.out_dir = out_dir
        self.max_size = max_size
        self.predictor = predictor or DetectorPredictor(model)
        self.meta = model.dataset_meta
        self.num_things = num_classes_of(model)[0]
        ids, self.category_source = category_ids(model)
        self.label2cat = dict(enumerate(ids))
        self.visualizer = DetLocalVisualizer(
            name=f'sfseg_panoptic_{id(self)}', alpha=opacity
        )
        # The metric's own writer of COCO panoptic PNGs, into a folder of
        # its own first (renamed into place: no truncated PNG if killed).
        self.metric = CocoPanopticMetric(
            outfile_prefix=osp.join(out_dir, 'unused'), nproc=1
        )
        self.metric.dataset_meta = dict(classes=self.meta['classes'])
        self.metric.seg_out_dir = osp.join(out_dir, PARTIAL_DIR)
        shutil.rmtree(self.metric.seg_out_dir, ignore_errors=True)
        self.segments = {}  # stem -> segments_info, of this run

    def paths(self, stem):
        """Output files of the image ``stem``; the last is written last,
        so an image is done when it exists."""
        return (
            osp.join(self.out_dir, 'panoptic', stem + '.png'),
            osp.join(self.out_dir, 'vis', stem + '.png'),
        )

    def predict(self, img):
        """Panoptic ids of the BGR image ``img`` at its size, predicted
        with its long side at most ``max_size`` and scaled back
        (nearest)."""
        h, w = img.shape[:2]
        ids = self.predictor(fit_max_size(img, self.max_size))
        if ids.shape != (h, w):
            ids = cv2.resize(
                ids.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST
            ).astype(np.int64)
        return ids

    def overlay(self, img, ids, name, with_labels=True):
        """RGB overlay of the panoptic ids on the BGR image ``img``."""
        return draw_overlay(
            self.visualizer, img, ids, self.meta, self.num_things, with_labels
        )

    def write(self, img, ids, stem):
        """Write the panoptic PNG, then the overlay (which marks it
        done); keep the segments for the JSON."""
        png, vis = self.paths(stem)
        overlay = self.overlay(img, ids, stem)
        # a copy: the metric sets the void pixels to 0 in place
        sem_seg = torch.from_numpy(ids[None].copy())
        result = self.metric._parse_predictions(
            dict(pred_panoptic_seg=dict(sem_seg=sem_seg)),
            img_id=stem,
            segm_file='image.png',
            label2cat=self.label2cat,
        )
        os.makedirs(osp.dirname(png), exist_ok=True)
        os.replace(osp.join(self.metric.seg_out_dir, 'image.png'), png)
        seg_ids = [s['id'] for s in result['segments_info']]
        self.segments[stem] = segments_info(ids, seg_ids, self.label2cat)
        write_png(vis, overlay[..., ::-1])

    def finish(self):
        """Write ``OUT/panoptic.json`` (under a temporary name, renamed)."""
        root = osp.join(self.out_dir, 'panoptic')
        annotations = []
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                if name.startswith('.') or not name.endswith('.png'):
                    continue
                path = osp.join(folder, name)
                stem = osp.relpath(path, root)[: -len('.png')]
                infos = self.segments.get(stem)
                if infos is None:
                    infos = read_segments(path, self.label2cat)
                annotations.append(
                    dict(
                        image_id=stem,
                        file_name=stem + '.png',
                        segments_info=infos,
                    )
                )
        categories = [
            dict(
                id=cat,
                name=self.meta['classes'][label],
                isthing=int(label < self.num_things),
            )
            for label, cat in self.label2cat.items()
        ]
        path = osp.join(self.out_dir, JSON_NAME)
        os.makedirs(self.out_dir, exist_ok=True)
        with open(partial_name(path), 'w') as f:
            json.dump(dict(annotations=annotations, categories=categories), f)
        os.replace(partial_name(path), path)
        shutil.rmtree(self.metric.seg_out_dir, ignore_errors=True)
