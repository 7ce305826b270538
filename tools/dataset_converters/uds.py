"""Check the four UDS roots and write the UDS split lists.

    python tools/dataset_converters/uds.py OUT_DIR \\
        [--config configs/_base_/datasets/uds_1024x1024.py] \\
        [--data-root data] [--root idd=/mnt/IDD ...] \\
        [--check-files] [--skip-bad] [--force]

Reads the UDS sources (BDD100K, Mapillary, IDD, Cityscapes) exactly as the
config describes them (roots, folders, suffixes), lists every train and
val image with mmseg's own dataset classes, checks that each has its
converted label (``--check-files`` also opens every header: sizes,
unreadable files) and writes ``OUT_DIR/<source>_<split>.txt``: one image
name per line (relative to the image folder, suffix removed), mmseg's
``ann_file`` format. Ends with a table of counts next to the official
UDS counts (34,968 training images). Run the Mapillary and IDD converters
first. Nothing is written outside OUT_DIR.
"""

import argparse
import json
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(
    REPO, 'configs', '_base_', 'datasets', 'uds_1024x1024.py'
)
# Standard releases (research brief 11.5); the official code does not
# hard-code them. UDS val: 4,481 by the code (the paper lists 6,500).
OFFICIAL = dict(
    train=dict(bdd=7000, mapillary=18000, idd=6993, cityscapes=2975),
    val=dict(bdd=1000, mapillary=2000, idd=981, cityscapes=500),
)


class UDSBuildError(Exception):
    """Bad roots or files; the message names them."""


def source_configs(config, data_root=None, roots=None):
    """``{split: {source: dataset cfg}}`` from the UDS dataset config."""
    from mmengine.config import Config

    cfg = Config.fromfile(config)
    out = {}
    for split, loader in (
        ('train', cfg.train_dataloader),
        ('val', cfg.val_dataloader),
    ):
        dataset = loader.dataset
        while 'sources' not in dataset:  # e.g. ClassUniformDataset
            if 'dataset' not in dataset:
                raise UDSBuildError(
                    f'{config}: {split} dataloader has no UDSDataset'
                )
            dataset = dataset.dataset
        out[split] = {}
        for name, source in dataset.sources.items():
            source = source.copy()
            root = source.get('data_root', '')
            if data_root is not None and root.startswith('data/'):
                root = osp.join(data_root, root[len('data/') :])
            if roots and name in roots:
                root = roots[name]
            source['data_root'] = root
            source['pipeline'] = []
            out[split][name] = source
    return out


def list_split(split, sources, on_bad, check_files):
    """Build the split's ``UDSDataset`` (its checks included); return
    ``{source: image names}`` and ``{source: problems}``."""
    from mmseg.registry import DATASETS

    uds = DATASETS.build(
        dict(
            type='UDSDataset',
            sources=sources,
            on_bad=on_bad,
            check_files=check_files,
        )
    )
    names = {}
    for name, dataset in zip(uds.source_names, uds.datasets):
        img_dir = dataset.data_prefix['img_path']
        names[name] = [
            osp.relpath(info['img_path'], img_dir)[: -len(dataset.img_suffix)]
            for info in dataset.data_list
        ]
    return names, uds.skipped


def build(
    out_dir,
    config=DEFAULT_CONFIG,
    data_root=None,
    roots=None,
    check_files=False,
    skip_bad=False,
    force=False,
):
    """Write the split lists; return ``{split: {source: count}}`` and
    ``{source_split: [problems]}``."""
    import sfseg  # noqa: F401  (registers the datasets)
    from sfseg.datasets import DatasetInputError

    if osp.isdir(out_dir) and os.listdir(out_dir) and not force:
        raise UDSBuildError(
            f'{out_dir} is not empty; pass --force to write into it'
        )
    splits = source_configs(config, data_root, roots)
    lists, counts, problems = {}, {}, {}
    for split, sources in splits.items():
        try:
            names, skipped = list_split(
                split, sources, 'skip' if skip_bad else 'raise', check_files
            )
        except (DatasetInputError, FileNotFoundError) as err:
            raise UDSBuildError(str(err)) from err
        counts[split] = {name: len(items) for name, items in names.items()}
        for name, items in names.items():
            lists[f'{name}_{split}'] = items
            if skipped[name]:
                problems[f'{name}_{split}'] = skipped[name]
    os.makedirs(out_dir, exist_ok=True)
    for key, names in lists.items():
        with open(osp.join(out_dir, f'{key}.txt'), 'w') as f:
            f.writelines(n + '\n' for n in names)
    with open(osp.join(out_dir, 'summary.json'), 'w') as f:
        json.dump(dict(counts=counts, skipped=problems), f, indent=2)
    return counts, problems


def format_counts(counts):
    lines = [f'{"source":<12}{"split":<7}{"images":>9}{"official":>10}']
    for split, sources in counts.items():
        for name, n in sources.items():
            ref = OFFICIAL.get(split, {}).get(name)
            ref = '-' if ref is None else f'{ref:,}'
            lines.append(f'{name:<12}{split:<7}{n:>9,}{ref:>10}')
        total = sum(sources.values())
        ref = sum(OFFICIAL.get(split, {}).values())
        lines.append(f'{"UDS":<12}{split:<7}{total:>9,}{ref:>10,}')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='where the split lists go')
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument(
        '--data-root',
        help='folder holding bdd/, mapillary/, IDD/, cityscapes/ and the '
        'converted mapillary19/, IDD19/ (replaces the config\'s "data/")',
    )
    parser.add_argument(
        '--root',
        action='append',
        default=[],
        metavar='SOURCE=PATH',
        help='data_root of one source, e.g. idd=/mnt/IDD',
    )
    parser.add_argument('--check-files', action='store_true')
    parser.add_argument(
        '--skip-bad',
        action='store_true',
        help='leave out and report bad samples instead of stopping',
    )
    parser.add_argument('--force', action='store_true')
    args = parser.parse_args(argv)
    roots = {}
    for item in args.root:
        name, sep, path = item.partition('=')
        if not sep:
            parser.error(f'--root expects SOURCE=PATH, got {item!r}')
        roots[name] = path
    try:
        counts, problems = build(
            args.out_dir,
            args.config,
            args.data_root,
            roots,
            args.check_files,
            args.skip_bad,
            args.force,
        )
    except UDSBuildError as err:
        sys.exit(f'error: {err}')
    print(format_counts(counts))
    for key, bad in problems.items():
        print(f'{key}: skipped {len(bad)}')
        for message in bad[:20]:
            print(f'  {message}')
    print(f'split lists written to {args.out_dir}')
    return counts, problems


if __name__ == '__main__':
    main()
