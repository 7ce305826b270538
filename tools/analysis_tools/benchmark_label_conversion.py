"""Time the label converters with 1 and N processes, side by side.

    python tools/analysis_tools/benchmark_label_conversion.py \\
        [--num 1000] [--size 1024 2048] [--nproc 2] [--work-dir DIR]

Writes ``--num`` random Mapillary-style label maps (ids 0-69, so some are
unknown) in the real layout, converts them once with one process and once
with ``--nproc`` processes (alternating, two rounds, best time kept), checks
both outputs are identical and prints the speed-up.
"""

import argparse
import os
import os.path as osp
import tempfile
import time

import numpy as np
from PIL import Image

from sfseg.datasets.convert.mapillary import convert_mapillary
from sfseg.utils.files import tree_hash


def make_fixture(root, num, size, seed=0):
    rng = np.random.default_rng(seed)
    img_dir = osp.join(root, 'training', 'images')
    label_dir = osp.join(root, 'training', 'v1.2', 'labels')
    os.makedirs(img_dir)
    os.makedirs(label_dir)
    image = Image.new('RGB', (size[1], size[0]))
    blocks = (size[0] // 16, size[1] // 16)
    for i in range(num):
        # blocky maps compress like real label maps
        ids = rng.integers(0, 66, blocks, dtype=np.uint8)  # v1.2 ids
        ids = np.kron(ids, np.ones((16, 16), np.uint8))
        Image.fromarray(ids).save(osp.join(label_dir, f'{i:05d}.png'))
        image.save(osp.join(img_dir, f'{i:05d}.jpg'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num', type=int, default=1000)
    parser.add_argument('--size', type=int, nargs=2, default=[1024, 2048])
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--work-dir', help='default: a temporary folder')
    args = parser.parse_args(argv)
    tmp = None
    if args.work_dir is None:
        tmp = tempfile.TemporaryDirectory()
        args.work_dir = tmp.name
    root = osp.join(args.work_dir, 'mapillary')
    print(f'writing {args.num} label maps of {args.size[0]}x{args.size[1]}')
    make_fixture(root, args.num, args.size)
    best = {1: float('inf'), args.nproc: float('inf')}
    digests = {}
    for r in range(args.rounds):
        for nproc in (1, args.nproc):
            out = osp.join(args.work_dir, f'out_{nproc}_{r}')
            start = time.perf_counter()
            report = convert_mapillary(
                root,
                out,
                splits=('training',),
                nproc=nproc,
                show_progress=False,
            )
            best[nproc] = min(best[nproc], time.perf_counter() - start)
            digests[nproc] = tree_hash(out)
            assert report['converted'] == args.num
    same = digests[1] == digests[args.nproc]
    speedup = best[1] / best[args.nproc]
    print(
        f'1 process: {best[1]:.1f} s; {args.nproc} processes: '
        f'{best[args.nproc]:.1f} s; speed-up {speedup:.2f}x; '
        f'identical outputs: {same}'
    )
    if tmp is not None:
        tmp.cleanup()
    return speedup, same


if __name__ == '__main__':
    main()
