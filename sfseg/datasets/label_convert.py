"""Parallel label-map conversion shared by the dataset converters.

Reads source label PNGs, maps their ids through a lookup table, writes the
results under a *separate* output root (the input tree is only read),
checks every label against its image size, and reports converted files,
unknown ids (mapped to 255, with pixel counts) and missing / bad files.
"""

import os
import os.path as osp
from collections import Counter

import numpy as np
from mmengine.utils import track_parallel_progress, track_progress
from PIL import Image


class LabelConversionError(Exception):
    """Input that cannot be converted; the message names the paths."""


def _convert_one(task):
    """Worker: ``(label, image, out, lut, known)`` -> result dict."""
    label_path, image_path, out_path, lut, known = task
    try:
        with Image.open(label_path) as img:
            if img.mode not in ('L', 'P', 'I', 'I;16'):
                return dict(
                    error=f'{label_path}: unexpected PNG mode '
                    f'{img.mode} (expected a single-channel map)'
                )
            ids = np.asarray(img)
        if image_path is not None:
            with Image.open(image_path) as img:
                size = img.size[::-1]
            if ids.shape != size:
                return dict(
                    error=f'{label_path}: label is {ids.shape[1]}x'
                    f'{ids.shape[0]} but its image {image_path} is '
                    f'{size[1]}x{size[0]}'
                )
    except (OSError, ValueError) as err:
        return dict(error=f'{label_path}: unreadable ({err})')
    if ids.max(initial=0) > 255:
        return dict(error=f'{label_path}: ids above 255')
    ids = ids.astype(np.uint8)
    counts = np.bincount(ids.ravel(), minlength=256)
    unknown = {
        int(i): int(counts[i]) for i in np.nonzero(counts)[0] if not known[i]
    }
    os.makedirs(osp.dirname(out_path), exist_ok=True)
    Image.fromarray(lut[ids]).save(out_path)
    return dict(unknown=unknown)


def convert_labels(
    pairs, lut, known, nproc=1, skip_bad=False, show_progress=True
):
    """Convert ``pairs`` of ``(label, image, out)`` paths.

    ``label`` None means the image has no label: reported as missing (an
    error unless ``skip_bad``). Returns a report dict with ``converted``,
    ``unknown_ids`` (id -> pixels), ``missing`` and ``bad`` lists.
    """
    missing = [image for label, image, _ in pairs if label is None]
    if missing and not skip_bad:
        shown = '\n  '.join(missing[:10])
        raise LabelConversionError(
            f'{len(missing)} image(s) have no label file, e.g.:\n  {shown}\n'
            'pass --skip-bad to convert the rest and report them'
        )
    tasks = [
        (label, image, out, lut, known)
        for label, image, out in pairs
        if label is not None
    ]
    if nproc > 1 and len(tasks) > 1:
        results = (
            track_parallel_progress(
                _convert_one, tasks, nproc, keep_order=True
            )
            if show_progress
            else _pool_map(tasks, nproc)
        )
    elif show_progress and tasks:
        results = track_progress(_convert_one, tasks)
    else:
        results = [_convert_one(t) for t in tasks]
    unknown, bad = Counter(), []
    for result in results:
        if 'error' in result:
            bad.append(result['error'])
        else:
            unknown.update(result['unknown'])
    if bad and not skip_bad:
        shown = '\n  '.join(bad[:10])
        raise LabelConversionError(
            f'{len(bad)} bad label file(s):\n  {shown}\n'
            'pass --skip-bad to convert the rest and report them'
        )
    return dict(
        converted=len(results) - len(bad),
        unknown_ids=dict(sorted(unknown.items())),
        missing=missing,
        bad=bad,
    )


def _pool_map(tasks, nproc):
    from multiprocessing import Pool

    with Pool(nproc) as pool:
        return pool.map(_convert_one, tasks, chunksize=8)


def prepare_output(out_root, in_root, force):
    """Refuse to write into ``in_root`` or a non-empty dir without force."""
    out_abs, in_abs = osp.abspath(out_root), osp.abspath(in_root)
    if out_abs == in_abs or out_abs.startswith(in_abs + os.sep):
        raise LabelConversionError(
            f'output {out_root} lies inside the input {in_root}; '
            'choose a separate output root'
        )
    if osp.isdir(out_root) and os.listdir(out_root) and not force:
        raise LabelConversionError(
            f'{out_root} is not empty; pass --force to write into it'
        )
    os.makedirs(out_root, exist_ok=True)


def format_report(report, names=None):
    lines = [f'converted: {report["converted"]} label maps']
    if report['unknown_ids']:
        items = ', '.join(
            f'{i}: {n} px' for i, n in report['unknown_ids'].items()
        )
        lines.append(f'unknown ids (written as 255): {items}')
    else:
        lines.append('unknown ids: none')
    lines.append(f'missing label files: {len(report["missing"])}')
    lines += [f'  {p}' for p in report['missing'][:20]]
    lines.append(f'bad label files: {len(report["bad"])}')
    lines += [f'  {p}' for p in report['bad'][:20]]
    return '\n'.join(lines)


def convert_dataset(
    collect_pairs,
    root,
    out_root,
    splits,
    table,
    num_ids,
    nproc=2,
    force=False,
    skip_bad=False,
    show_progress=True,
):
    """Collect ``(label, image, out)`` pairs, then convert them."""
    from .label_maps import make_lut

    pairs = collect_pairs(root, out_root, splits)
    prepare_output(out_root, root, force)
    lut, known = make_lut(table, num_ids)
    return convert_labels(pairs, lut, known, nproc, skip_bad, show_progress)


def converter_main(description, convert, default_splits, argv=None):
    """Command line shared by the label converters."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('root', help='dataset root (read only)')
    parser.add_argument('out_root', help='separate output root')
    parser.add_argument('--splits', nargs='+', default=list(default_splits))
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument(
        '--force',
        action='store_true',
        help='write into a non-empty output root',
    )
    parser.add_argument(
        '--skip-bad',
        action='store_true',
        help='skip and report missing / bad label files',
    )
    args = parser.parse_args(argv)
    try:
        report = convert(
            args.root,
            args.out_root,
            args.splits,
            args.nproc,
            args.force,
            args.skip_bad,
        )
    except LabelConversionError as err:
        sys.exit(f'error: {err}')
    print('\n' + format_report(report))
    return report
