"""Check ImageNet initialisation through ``mim train sfseg``, per family.

For each family: an ImageNet file in the official layout (the official key
names and shapes of ``sfseg/official_checks/official_keys/imagenet_*.tsv``,
random values; nothing is downloaded) is put in ``pretrained/`` of a scratch
folder, and the family's Cityscapes config trains 2 iterations on a small
generated Cityscapes-layout dataset; the log must say ``backbone
initialised from <file>: N/N tensors``. Then the same config is started
with another family's file under its name (refused, naming keys and the
file) and with an empty folder (refused before the first iteration,
naming the file, the official README and the from-scratch option)::

    python tools/analysis_tools/check_imagenet_init.py [--families ...]

Prints one JSON line per family (``--json``) or a table; exits 1 when a
check fails.
"""

import argparse
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import tempfile
import time

from sfseg.datasets.toy.driving import generate
from sfseg.models.official import FAMILIES
from sfseg.models.official.imagenet_init import FROM_SCRATCH, OFFICIAL_FILES
from sfseg.official_checks.official_layouts import (
    OFFICIAL_KEYS,
    write_official_imagenet,
)

# the dsn variants build the backbone of their base family
CHECKED = sorted(f for f in FAMILIES if not f.endswith('_dsn'))
# a file of another family for the refusal check
OTHER = {'resnet': 'stdc1', 'stdc': 'dfnet1', 'dfnet': 'resnet18_deep'}
INITIALISED = re.compile(
    r'backbone initialised from (\S+): (\d+)/(\d+) tensors'
)


def mim_train(config, data_root, work, cwd, pretrained_dir=None):
    """``mim train sfseg`` for 2 iterations at a 64 x 128 crop."""
    crop = '(64,128)'
    opts = [
        f'train_dataloader.dataset.cache_dir={osp.join(work, "cache")}',
        'train_dataloader.dataset.tile=32',
        f'train_dataloader.dataset.dataset.pipeline.2.crop_size={crop}',
        f'model.data_preprocessor.size={crop}',
        'norm_cfg.type=BN',
        'model.backbone.norm_cfg.type=BN',
        'model.decode_head.norm_cfg.type=BN',
        'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_cfg.max_iters=2',
        'val_cfg=None',
        'val_dataloader=None',
        'val_evaluator=None',
        'default_hooks.checkpoint.interval=100',
        'default_hooks.logger.interval=1',
    ]
    if pretrained_dir is not None:
        opts.append(f'model.backbone.init_cfg.pretrained_dir={pretrained_dir}')
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    cmd = [mim, 'train', 'sfseg', config, '--work-dir', work, '--data-root']
    cmd += [data_root, '--cfg-options'] + opts
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    env.pop('SFSEG_PRETRAINED_DIR', None)
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    return (
        proc.returncode,
        proc.stdout + proc.stderr,
        time.perf_counter() - start,
    )


def check_family(family, data_root, scratch, refusals=True):
    """Run the three checks for ``family`` (the two refusals only with
    ``refusals``); return what was seen."""
    config = osp.basename(FAMILIES[family].config)
    name = FAMILIES[family].imagenet
    filename = OFFICIAL_FILES[name]
    home = osp.join(scratch, family)
    os.makedirs(osp.join(home, 'pretrained'))
    write_official_imagenet(
        OFFICIAL_KEYS, name, osp.join(home, 'pretrained', filename)
    )
    report = dict(family=family, backbone=name, file=filename)

    # 1. the default folder (pretrained/ in the current directory)
    rc, out, secs = mim_train(config, data_root, 'work', home)
    m = INITIALISED.search(out)
    report.update(
        trained=rc == 0 and 'Iter(train) [2/2]' in out,
        seconds=round(secs, 1),
        loaded=int(m.group(2)) if m else None,
        tensors=int(m.group(3)) if m else None,
        from_file=m.group(1) if m else None,
    )
    if not report['trained']:
        report['output'] = out[-3000:]
    if not refusals:
        report['ok'] = bool(
            report['trained'] and report['loaded'] == report['tensors']
        )
        return report

    # 2. another family's file under this family's name
    other = OTHER[re.match(r'[a-z]+', name).group()]
    wrong = osp.join(home, 'wrong')
    os.makedirs(wrong)
    write_official_imagenet(OFFICIAL_KEYS, other, osp.join(wrong, filename))
    rc, out, _ = mim_train(config, data_root, 'work_wrong', home, wrong)
    report.update(
        wrong_family_refused=rc != 0
        and 'Iter(train)' not in out
        and f'{osp.join(wrong, filename)} does not fit the {name}' in out
        and 'unexpected keys' in out,
        wrong_family_message=_error_line(out),
    )

    # 3. a folder without the file
    empty = osp.join(home, 'empty')
    os.makedirs(empty)
    rc, out, _ = mim_train(config, data_root, 'work_missing', home, empty)
    report.update(
        missing_refused=rc != 0
        and 'Iter(train)' not in out
        and filename in out
        and 'SFSegNets README' in out
        and FROM_SCRATCH in out,
        missing_message=_error_line(out),
    )
    report['ok'] = bool(
        report['trained']
        and report['loaded'] == report['tensors']
        and report['wrong_family_refused']
        and report['missing_refused']
    )
    return report


def _error_line(out):
    lines = [ln for ln in out.splitlines() if ln.startswith('error: ')]
    return lines[-1][:300] if lines else out[-300:]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--families',
        nargs='+',
        choices=CHECKED,
        default=CHECKED,
    )
    parser.add_argument(
        '--data-root',
        help='a Cityscapes-layout dataset (default: generate a small one)',
    )
    parser.add_argument(
        '--json', action='store_true', help='one JSON line per family'
    )
    parser.add_argument(
        '--quick',
        action='store_true',
        help='run the two refusal checks for the first family only',
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    scratch = tempfile.mkdtemp(prefix='sfseg_imagenet_')
    try:
        data_root = args.data_root
        if data_root is None:
            data_root = osp.join(scratch, 'toy_city')
            generate(
                data_root,
                num_train=8,
                num_val=2,
                num_test=1,
                size=(64, 128),
                show_progress=False,
            )
        reports = []
        for i, family in enumerate(args.families):
            report = check_family(
                family,
                osp.abspath(data_root),
                scratch,
                refusals=not (args.quick and i),
            )
            reports.append(report)
            if args.json:
                print(json.dumps(report), flush=True)
                continue
            said = {True: 'refused', False: 'NOT refused', None: 'not run'}
            print(
                f'{family:18s} {report["file"]:30s} '
                f'{report["loaded"]}/{report["tensors"]} tensors, '
                f'2 iterations {"ok" if report["trained"] else "FAILED"} '
                f'({report["seconds"]} s), wrong family '
                f'{said[report.get("wrong_family_refused")]}, missing file '
                f'{said[report.get("missing_refused")]}',
                flush=True,
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not all(r['ok'] for r in reports):
        sys.exit(1)


if __name__ == '__main__':
    main()
