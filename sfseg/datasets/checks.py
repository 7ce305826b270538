"""Input checks for segmentation datasets: fail early, naming the path.

mmseg's ``BaseSegDataset`` lists images without looking at their labels,
so a missing or broken label only fails deep inside a dataloader worker,
hours into training. These checks run when the dataset loads its list:
missing folders and label files always, image/label sizes and
readability with ``check_files=True`` (decodes every file in full, so a
truncated JPEG is caught here rather than in a worker). Bad samples stop
the run with their paths (``on_bad='raise'``) or are dropped and reported
(``on_bad='skip'``); skipping every sample is an error naming the
dataset.
"""

import os.path as osp
from concurrent.futures import ThreadPoolExecutor

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


def _problem(info, check_files):
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
    sizes = []
    for path in (img, seg):
        try:
            with Image.open(path) as f:
                f.load()  # the header alone passes truncated files
                sizes.append(f.size)
        except (OSError, ValueError) as err:
            return f'{path}: unreadable ({err})'
    if sizes[0] != sizes[1]:
        (iw, ih), (lw, lh) = sizes
        return f'{seg}: label is {lw}x{lh} but its image {img} is {iw}x{ih}'
    return None


def check_data_list(data_list, name, on_bad='raise', check_files=False):
    """Return ``data_list`` without bad samples, or raise naming them.

    Args:
        data_list (list[dict]): mmseg data infos (``img_path``,
            ``seg_map_path``).
        name (str): dataset name for messages.
        on_bad (str): ``'raise'`` or ``'skip'`` (drop and report).
        check_files (bool): also decode every image and label to catch
            unreadable or truncated files and size mismatches.

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
        result = _problem(info, check_files)
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
            data_list, type(self).__name__, self.on_bad, self.check_files
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
        dataset.data_list, name, on_bad, check_files
    )
    return problems
