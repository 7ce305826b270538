"""Cityscapes gtFine -> the COCO-panoptic layout mmdet reads (K-Net); the
library behind ``tools/dataset_converters/cityscapes_panoptic.py`` (its
help describes the layout).

Segments follow cityscapesscripts' ``createPanopticImgs`` exactly (same
ids, categories = Cityscapes label ids, crowd flags, areas, boxes), with
the fixes mmdet 3.x needs: the 8 thing categories come first, integer
image ids, and flat folders where the image and its panoptic PNG share
one basename. The input tree is never modified.
"""

import json
import os
import os.path as osp
import shutil
from collections import Counter

import numpy as np
from panopticapi.utils import id2rgb
from PIL import Image

from .common import (
    check_bad,
    check_missing,
    collect_nested_pairs,
    format_report,
    image_size,
    prepare_output,
    run_tasks,
)

IMG_SUFFIX = '_leftImg8bit.png'
LABEL_SUFFIX = '_gtFine_instanceIds.png'


def categories():
    """Evaluated Cityscapes labels, things first, each in label-id order."""
    from cityscapesscripts.helpers.labels import labels

    kept = [label for label in labels if not label.ignoreInEval]
    ordered = [lb for lb in kept if lb.hasInstances] + [
        lb for lb in kept if not lb.hasInstances
    ]
    return [
        dict(
            id=int(lb.id),
            name=lb.name,
            color=list(lb.color),
            supercategory=lb.category,
            isthing=int(lb.hasInstances),
        )
        for lb in ordered
    ]


def segment_table():
    """label id -> (evaluated, has instances) for ids 0..33."""
    from cityscapesscripts.helpers.labels import labels

    return {
        int(lb.id): (not lb.ignoreInEval, bool(lb.hasInstances))
        for lb in labels
        if lb.id >= 0
    }


def panoptic_one(task):
    """Worker: one ``*_instanceIds.png`` -> panoptic PNG + segments."""
    label_path, image_path, out_path, table = task
    try:
        with Image.open(label_path) as img:
            ids = np.asarray(img).astype(np.int64)
    except OSError as err:
        return dict(error=f'{label_path}: unreadable ({err})')
    try:
        height, width = image_size(image_path)
    except OSError as err:
        return dict(error=f'{image_path}: unreadable image ({err})')
    if ids.ndim != 2:
        return dict(error=f'{label_path}: not a single-channel id map')
    if ids.shape != (height, width):
        return dict(
            error=f'{label_path}: label is {ids.shape[1]}x{ids.shape[0]} '
            f'but its image {image_path} is {width}x{height}'
        )
    kept = np.zeros_like(ids)  # segment ids, 0 = void
    segments, unknown = [], Counter()
    values, counts = np.unique(ids, return_counts=True)
    for value, count in zip(values.tolist(), counts.tolist()):
        label = value if value < 1000 else value // 1000
        if label not in table:
            unknown[label] += count
            continue
        evaluated, has_instances = table[label]
        if not evaluated:
            continue  # void in the panoptic PNG, as cityscapesscripts
        mask = ids == value
        kept[mask] = value
        ys, xs = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
        segments.append(
            dict(
                id=int(value),
                category_id=int(label),
                area=int(count),
                bbox=[
                    int(xs[0]),
                    int(ys[0]),
                    int(xs[-1] - xs[0] + 1),
                    int(ys[-1] - ys[0] + 1),
                ],
                # a thing class without an instance id is a crowd region
                iscrowd=int(value < 1000 and has_instances),
            )
        )
    os.makedirs(osp.dirname(out_path), exist_ok=True)
    Image.fromarray(id2rgb(kept)).save(out_path)
    return dict(segments=segments, width=width, height=height, unknown=unknown)


def collect_pairs(root, out_root, splits):
    pairs = collect_nested_pairs(
        root,
        out_root,
        splits,
        dataset='Cityscapes',
        img_dir='leftImg8bit',
        img_suffix=IMG_SUFFIX,
        label_dir='gtFine',
        label_suffixes=(LABEL_SUFFIX,),
        out_suffix=IMG_SUFFIX,
    )
    # flat output: OUT/panoptic_<split>/<basename of the image>
    flat = []
    for label, image, _ in pairs:
        split = osp.basename(osp.dirname(osp.dirname(image)))
        out = osp.join(out_root, f'panoptic_{split}', osp.basename(image))
        flat.append((label, image, out))
    return flat


def link_image(image, target, copy):
    os.makedirs(osp.dirname(target), exist_ok=True)
    if osp.lexists(target):
        os.remove(target)
    if copy:
        shutil.copyfile(image, target)
    else:
        os.symlink(osp.abspath(image), target)


def convert(
    root,
    out_root,
    splits=('train', 'val'),
    nproc=2,
    force=False,
    skip_bad=False,
    show_progress=True,
    copy_images=False,
):
    """Convert ``splits``; returns the report dict (see module doc)."""
    pairs = collect_pairs(root, out_root, splits)
    # the image links of an earlier run point into the input on purpose
    # (they are replaced, not written through): check their folders
    outputs = {osp.join(out_root, 'annotations')}
    for _, image, out in pairs:
        split = osp.basename(osp.dirname(out))[len('panoptic_') :]
        outputs |= {out, osp.join(out_root, f'images_{split}')}
    prepare_output(out_root, root, force, sorted(outputs))
    missing = check_missing(pairs, skip_bad)
    table = segment_table()
    pairs = [p for p in pairs if p[0] is not None]
    results = run_tasks(
        panoptic_one,
        [(label, image, out, table) for label, image, out in pairs],
        nproc,
        show_progress,
    )
    bad = [r['error'] for r in results if 'error' in r]
    check_bad(bad, skip_bad)
    unknown, per_split, counts = Counter(), {}, Counter()
    for (label, image, out), result in zip(pairs, results):
        if 'error' in result:
            continue
        split = osp.basename(osp.dirname(out))[len('panoptic_') :]
        name = osp.basename(image)
        link_image(
            image, osp.join(out_root, f'images_{split}', name), copy_images
        )
        unknown.update(result['unknown'])
        for seg in result['segments']:
            counts['crowd' if seg['iscrowd'] else 'segments'] += 1
        per_split.setdefault(split, []).append((name, result))
    os.makedirs(osp.join(out_root, 'annotations'), exist_ok=True)
    cats = categories()
    for split, items in per_split.items():
        images, annotations = [], []
        for image_id, (name, result) in enumerate(sorted(items), 1):
            images.append(
                dict(
                    id=image_id,
                    file_name=name,
                    width=result['width'],
                    height=result['height'],
                )
            )
            annotations.append(
                dict(
                    image_id=image_id,
                    file_name=name,
                    segments_info=result['segments'],
                )
            )
        path = osp.join(
            out_root, 'annotations', f'cityscapes_panoptic_{split}.json'
        )
        with open(path, 'w') as f:
            json.dump(
                dict(images=images, annotations=annotations, categories=cats),
                f,
            )
    return dict(
        converted=len(results) - len(bad),
        unknown_ids=dict(sorted(unknown.items())),
        missing=missing,
        bad=bad,
        segments=counts['segments'],
        crowd=counts['crowd'],
    )


def summary(report):
    """The lines printed after a conversion."""
    text = format_report(report).replace('label maps', 'images')
    return (
        text.replace('written as 255', 'left void')
        + f'\nsegments: {report["segments"]} (+{report["crowd"]} crowd)'
    )
