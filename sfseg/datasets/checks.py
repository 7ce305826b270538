"""Input checks for segmentation datasets: fail early, naming the path.

mmseg's ``BaseSegDataset`` lists images without looking at their labels,
so a missing or broken label only fails deep inside a dataloader worker,
hours into training. These checks run when the dataset loads its list:
missing folders and label files always, image/label sizes and
readability and label ids with ``check_files=True`` (decodes every file in
full, so a truncated JPEG or a label id outside the classes is caught here
rather than in a worker). Bad samples stop
the run with their paths (``on_bad='raise'``) or are dropped and reported
(``on_bad='skip'``); skipping every sample is an error naming the
dataset.
"""

import os.path as osp
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from PIL import Image

ON_BAD = ('raise', 'skip')


class DatasetInputError(ValueError):
    """A dataset's files are missing or broken; the message names them."""


def check_layout(dataset):
    """Raise if the image folder (or ann_file) of ``dataset`` is missing."""
    name = type(dataset).__name__
    ann_file = getattr(dataset, 'ann_file', '')
    if ann_file and not osp.isfile(ann_file):
        raise DatasetInputError(f'{name}: split list not found: {ann_file}')
    img_dir = osp.normpath(dataset.data_prefix.get('img_path', ''))
    if not osp.isdir(img_dir):
        raise DatasetInputError(
            f'{name}: image folder not found: {img_dir} (data_root='
            f'{dataset.data_root!r}, data_prefix.img_path='
            f'{dataset.data_prefix.get("img_path")!r})'
        )
    seg_dir = dataset.data_prefix.get('seg_map_path', '')
    if not ann_file and seg_dir and not osp.isdir(seg_dir):
        raise DatasetInputError(
            f'{name}: label folder not found: {osp.normpath(seg_dir)}'
        )


def out_of_range_ids(label, num_classes, ignore_index=255):
    """``{id: pixel count}`` of the values of ``label`` (an array of class
    ids) outside ``0..num_classes-1`` and ``ignore_index``."""
    label = np.asarray(label)
    bad = label >= num_classes
    if label.dtype.kind == 'i':
        bad |= label < 0
    bad &= label != ignore_index
    if not bad.any():
        return {}
    ids, counts = np.unique(label[bad], return_counts=True)
    return {int(i): int(c) for i, c in zip(ids, counts)}


def describe_ids(found, num_classes, ignore_index):
    """``label ids outside 0..18 and 255: 25 (12 px)`` for messages."""
    shown = ', '.join(f'{i} ({n} px)' for i, n in sorted(found.items()))
    return (
        f'label ids outside 0..{num_classes - 1} and {ignore_index}: {shown}'
    )


def _load_label(info):
    """The label of ``info`` as training loads it: mmseg's
    ``LoadAnnotations`` with the sample's ``reduce_zero_label`` and
    ``label_map``."""
    from mmseg.datasets.transforms import LoadAnnotations

    results = dict(
        seg_map_path=info['seg_map_path'],
        reduce_zero_label=info.get('reduce_zero_label', False),
        label_map=info.get('label_map'),
        seg_fields=[],
    )
    return LoadAnnotations()(results)['gt_seg_map']


def _problem(info, check_files, num_classes=None, ignore_index=255):
    """``None`` or a message naming the bad file of one sample."""
    img, seg = osp.normpath(info['img_path']), info.get('seg_map_path')
    if not osp.isfile(img):
        return f'{img}: image not found'
    if seg is None:
        return None
    seg = osp.normpath(seg)
    if not osp.isfile(seg):
        return f'{img}: no label file ({seg} not found)'
    if not check_files:
        return None
    try:
        with Image.open(img) as f:
            f.load()  # the header alone passes truncated files
            iw, ih = f.size
    except (OSError, ValueError) as err:
        return f'{img}: unreadable ({err})'
    try:
        label = _load_label(info)
    except (OSError, ValueError) as err:
        return f'{seg}: unreadable ({err})'
    lh, lw = label.shape[:2]
    if (lw, lh) != (iw, ih):
        return f'{seg}: label is {lw}x{lh} but its image {img} is {iw}x{ih}'
    found = num_classes and out_of_range_ids(label, num_classes, ignore_index)
    if found:
        return f'{seg}: {describe_ids(found, num_classes, ignore_index)}'
    return None


def check_data_list(
    data_list,
    name,
    on_bad='raise',
    check_files=False,
    num_classes=None,
    ignore_index=255,
):
    """Return ``data_list`` without bad samples, or raise naming them.

    Args:
        data_list (list[dict]): mmseg data infos (``img_path``,
            ``seg_map_path``).
        name (str): dataset name for messages.
        on_bad (str): ``'raise'`` or ``'skip'`` (drop and report).
        check_files (bool): also decode every image and label to catch
            unreadable or truncated files, size mismatches and (given
            ``num_classes``) label ids outside ``0..num_classes-1`` and
            ``ignore_index``, read as training reads them.
        num_classes (int): number of classes, for the label id check.
        ignore_index (int): the label id that marks ignored pixels.

    Returns:
        tuple: ``(kept data_list, list of problem messages)``.
    """
    if on_bad not in ON_BAD:
        raise ValueError(f'on_bad must be one of {ON_BAD}, got {on_bad!r}')
    if not data_list:
        raise DatasetInputError(f'{name}: no images found')
    show = check_files and len(data_list) > 500
    bar = ProgressBar(len(data_list)) if show else None

    def run(info):
        result = _problem(info, check_files, num_classes, ignore_index)
        if bar is not None:
            bar.update()
        return result

    with ThreadPoolExecutor(8 if check_files else 1) as pool:
        problems = list(pool.map(run, data_list))
    bad = [p for p in problems if p is not None]
    if bad and on_bad == 'raise':
        shown = '\n  '.join(bad[:10])
        raise DatasetInputError(
            f'{name}: {len(bad)} bad sample(s) of {len(data_list)}:\n  '
            f'{shown}\nset on_bad="skip" to train on the rest'
        )
    if bad:
        print_log(
            f'{name}: skipped {len(bad)} bad sample(s) of '
            f'{len(data_list)}:\n  ' + '\n  '.join(bad[:20]),
            logger='current',
        )
    kept = [i for i, p in zip(data_list, problems) if p is None]
    if not kept:
        shown = '\n  '.join(bad[:10])
        raise DatasetInputError(
            f'{name}: on_bad="skip" skipped all {len(data_list)} samples, '
            f'nothing is left to load:\n  {shown}'
        )
    return kept, bad


def _classes(dataset):
    """``(number of classes, ignore index)`` of an mmseg dataset."""
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    return (len(classes) if classes else None), getattr(
        dataset, 'ignore_index', 255
    )


class CheckedSegDatasetMixin:
    """``load_data_list`` with :func:`check_layout` and
    :func:`check_data_list`; put before ``BaseSegDataset`` in the bases and
    accept ``on_bad`` / ``check_files`` in ``__init__``."""

    on_bad = 'raise'
    check_files = False

    def load_data_list(self):
        check_layout(self)
        data_list = super().load_data_list()
        data_list, self.skipped = check_data_list(
            data_list,
            type(self).__name__,
            self.on_bad,
            self.check_files,
            *_classes(self),
        )
        return data_list


def full_init_checked(dataset, name, on_bad='raise', check_files=False):
    """``dataset.full_init()`` with the checks above; returns the problems.

    Works for sfseg's checked datasets (which check themselves) and for
    any other mmseg dataset built with ``lazy_init=True`` and
    ``serialize_data=False`` (its ``data_list`` is filtered here).
    """
    if isinstance(dataset, CheckedSegDatasetMixin):
        dataset.on_bad, dataset.check_files = on_bad, check_files
        dataset.full_init()
        return dataset.skipped
    check_layout(dataset)
    dataset.full_init()
    dataset.data_list, problems = check_data_list(
        dataset.data_list, name, on_bad, check_files, *_classes(dataset)
    )
    return problems
