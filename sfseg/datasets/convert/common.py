"""Parallel label-map conversion shared by the dataset converters.

Reads source label PNGs, maps their ids through a lookup table, writes the
results under a *separate* output root (the input tree is only read, and
paths are compared after resolving symlinks and ``..``), decodes every
image fully and checks its size against the label, and reports converted
files, unknown ids (mapped to 255, with pixel counts, unless the
converter's check refuses them) and missing / bad files.
"""

import os
import os.path as osp
from collections import Counter

import numpy as np
from mmengine.utils import track_parallel_progress, track_progress
from PIL import Image


class LabelConversionError(Exception):
    """Input that cannot be converted; the message names the paths."""


def _read_ids(label_path, polygons):
    """``(ids, palette or None, unknown label names)`` from a label PNG or
    polygon JSON."""
    if label_path.endswith('.json'):
        from .polygons import rasterize_polygons

        ids, unknown_names = rasterize_polygons(label_path, *polygons)
        return ids, None, unknown_names
    with Image.open(label_path) as img:
        if img.mode not in ('L', 'P', 'I', 'I;16'):
            raise ValueError(
                f'unexpected PNG mode {img.mode} (expected a single-channel '
                'map)'
            )
        palette = img.getpalette() if img.mode == 'P' else None
        return np.asarray(img), palette, Counter()


def image_size(path):
    """``(height, width)`` of an image decoded in full.

    Reading only the header (``Image.open(...).size``) accepts truncated
    files that fail later in the data loader; ``load()`` decodes every
    byte and raises ``OSError`` on them.
    """
    with Image.open(path) as img:
        img.load()
        return img.size[::-1]


def _convert_one(task):
    """Worker: ``(label, image, out, lut, known, polygons, check)`` ->
    result dict."""
    label_path, image_path, out_path, lut, known, polygons, check = task
    try:
        ids, palette, unknown_names = _read_ids(label_path, polygons)
    except (OSError, ValueError, KeyError, TypeError) as err:
        return dict(error=f'{label_path}: unreadable ({err})')
    if image_path is not None:
        try:
            size = image_size(image_path)
        except (OSError, ValueError) as err:
            return dict(error=f'{image_path}: unreadable image ({err})')
        if ids.shape != size:
            return dict(
                error=f'{label_path}: label is {ids.shape[1]}x'
                f'{ids.shape[0]} but its image {image_path} is '
                f'{size[1]}x{size[0]}'
            )
    if ids.max(initial=0) > 255:
        return dict(error=f'{label_path}: ids above 255')
    ids = ids.astype(np.uint8)
    counts = np.bincount(ids.ravel(), minlength=256)
    unknown = {
        int(i): int(counts[i]) for i in np.nonzero(counts)[0] if not known[i]
    }
    if unknown_names:  # drawn as 255 already; not an unknown id
        unknown.pop(255, None)
    if check is not None:
        problem = check(counts, palette, unknown)
        if problem:
            return dict(error=f'{label_path}: {problem}')
    os.makedirs(osp.dirname(out_path), exist_ok=True)
    Image.fromarray(lut[ids]).save(out_path)
    return dict(unknown=unknown, unknown_names=dict(unknown_names))


def convert_labels(
    pairs,
    lut,
    known,
    nproc=1,
    skip_bad=False,
    show_progress=True,
    polygons=None,
    check=None,
):
    """Convert ``pairs`` of ``(label, image, out)`` paths.

    ``label`` None means the image has no label: reported as missing (an
    error unless ``skip_bad``). Labels ending in ``.json`` are polygon
    annotations drawn with ``polygons = (name_to_id, background_id)``.
    ``check(counts, palette, unknown)`` (picklable: it runs in the
    workers) may refuse a label by returning a message, e.g. a label of
    another dataset version.
    Returns a report dict with ``converted``, ``unknown_ids`` (id ->
    pixels), ``unknown_labels`` (polygon label name -> objects),
    ``missing`` and ``bad`` lists.
    """
    missing = check_missing(pairs, skip_bad)
    tasks = [
        (label, image, out, lut, known, polygons, check)
        for label, image, out in pairs
        if label is not None
    ]
    results = run_tasks(_convert_one, tasks, nproc, show_progress)
    unknown, unknown_names, bad = Counter(), Counter(), []
    for result in results:
        if 'error' in result:
            bad.append(result['error'])
        else:
            unknown.update(result['unknown'])
            unknown_names.update(result['unknown_names'])
    check_bad(bad, skip_bad)
    return dict(
        converted=len(results) - len(bad),
        unknown_ids=dict(sorted(unknown.items())),
        unknown_labels=dict(sorted(unknown_names.items())),
        missing=missing,
        bad=bad,
    )


def check_missing(pairs, skip_bad):
    """Images of ``(label, image, out)`` pairs without a label; raise
    unless ``skip_bad``."""
    missing = [image for label, image, _ in pairs if label is None]
    if missing and not skip_bad:
        shown = '\n  '.join(missing[:10])
        raise LabelConversionError(
            f'{len(missing)} image(s) have no label file, e.g.:\n  {shown}\n'
            'pass --skip-bad to convert the rest and report them'
        )
    return missing


def check_bad(bad, skip_bad):
    if bad and not skip_bad:
        shown = '\n  '.join(bad[:10])
        raise LabelConversionError(
            f'{len(bad)} bad label file(s):\n  {shown}\n'
            'pass --skip-bad to convert the rest and report them'
        )


def run_tasks(func, tasks, nproc=1, show_progress=True):
    """``[func(t) for t in tasks]`` on ``nproc`` processes, in order, with
    mmengine's progress bar when ``show_progress``."""
    if nproc > 1 and len(tasks) > 1:
        if show_progress:
            return track_parallel_progress(func, tasks, nproc, keep_order=True)
        from multiprocessing import Pool

        with Pool(nproc) as pool:
            return pool.map(func, tasks, chunksize=8)
    if show_progress and tasks:
        return track_progress(func, tasks)
    return [func(t) for t in tasks]


def is_within(path, root):
    """Whether ``path`` is ``root`` or lies below it once both are resolved
    (symlinks, ``..``, ``~``); paths that do not exist yet resolve through
    their existing parents."""
    path = osp.realpath(osp.expanduser(path))
    root = osp.realpath(osp.expanduser(root))
    return osp.commonpath([path, root]) == root


def prepare_output(out_root, in_root, force, outputs=()):
    """Refuse to write into ``in_root`` or a non-empty dir without force.

    ``outputs`` (the file paths about to be written) are checked one by
    one as well: a symlinked sub-folder of ``out_root`` may lead back into
    the input tree even when ``out_root`` itself does not.
    """
    if is_within(out_root, in_root):
        raise LabelConversionError(
            f'output {out_root} lies inside the input {in_root} (resolved: '
            f'{osp.realpath(out_root)} in {osp.realpath(in_root)}); choose '
            'a separate output root'
        )
    inside = next((p for p in outputs if is_within(p, in_root)), None)
    if inside is not None:
        raise LabelConversionError(
            f'output file {inside} resolves to {osp.realpath(inside)}, '
            f'inside the input {in_root} (a symlink in the output tree?); '
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
    if report.get('unknown_labels'):
        items = ', '.join(
            f'{name!r}: {n} objects'
            for name, n in report['unknown_labels'].items()
        )
        lines.append(f'unknown polygon labels (drawn as 255): {items}')
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
    polygons=None,
    check=None,
):
    """Collect ``(label, image, out)`` pairs, then convert them."""
    from .label_maps import make_lut

    pairs = collect_pairs(root, out_root, splits)
    prepare_output(out_root, root, force, [out for _, _, out in pairs])
    lut, known = make_lut(table, num_ids)
    return convert_labels(
        pairs,
        lut,
        known,
        nproc,
        skip_bad,
        show_progress,
        polygons,
        check,
    )


def collect_nested_pairs(
    root,
    out_root,
    splits,
    *,
    dataset,
    img_dir,
    img_suffix,
    label_dir,
    label_suffixes,
    out_suffix,
    out_dir=None,
):
    """``(label, image, out)`` for a Cityscapes-style nested layout.

    Images ``root/<img_dir>/<split>/<group>/<stem><img_suffix>``, labels
    ``root/<label_dir>/<split>/<group>/<stem><suffix>`` with the first of
    ``label_suffixes`` that exists (None if none does), outputs
    ``out_root/<out_dir or label_dir>/<split>/<group>/<stem><out_suffix>``.
    """
    if not osp.isdir(root):
        raise LabelConversionError(f'{dataset} root not found: {root}')
    pairs = []
    for split in splits:
        split_dir = osp.join(root, img_dir, split)
        if not osp.isdir(split_dir):
            raise LabelConversionError(
                f'wrong layout: {split_dir} not found (expected '
                f'<root>/{img_dir}/{split}/<group>/*{img_suffix})'
            )
        for group in sorted(os.listdir(split_dir)):
            group_dir = osp.join(split_dir, group)
            if not osp.isdir(group_dir):
                continue
            for name in sorted(os.listdir(group_dir)):
                if not name.endswith(img_suffix):
                    continue
                stem = name[: -len(img_suffix)]
                base = osp.join(root, label_dir, split, group, stem)
                label = next(
                    (
                        base + suffix
                        for suffix in label_suffixes
                        if osp.isfile(base + suffix)
                    ),
                    None,
                )
                out = osp.join(
                    out_root,
                    out_dir or label_dir,
                    split,
                    group,
                    stem + out_suffix,
                )
                pairs.append((label, osp.join(group_dir, name), out))
    return pairs


def converter_main(
    description,
    convert,
    default_splits,
    argv=None,
    add_arguments=None,
    summary=None,
):
    """Command line shared by the label converters.

    ``add_arguments(parser)`` may add converter-specific options and
    return their ``dest`` names; they are passed to ``convert`` by name.
    ``summary(report)`` gives the text printed at the end
    (:func:`format_report` by default).
    """
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
    extra = add_arguments(parser) if add_arguments else ()
    args = parser.parse_args(argv)
    try:
        report = convert(
            args.root,
            args.out_root,
            args.splits,
            args.nproc,
            args.force,
            args.skip_bad,
            **{name: getattr(args, name) for name in extra},
        )
    except LabelConversionError as err:
        sys.exit(f'error: {err}')
    print('\n' + (summary or format_report)(report))
    return report
