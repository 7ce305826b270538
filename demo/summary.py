"""Print the demo's summary: mIoU, parameters and CPU latency."""

import argparse
import glob
import json
import os.path as osp
import statistics
import time

import torch

from sfseg.acceleration import AccelerationOptions, accelerate
from sfseg.apis import init_model
from sfseg.utils.cpu_info import describe


def read_miou(test_dir):
    """mIoU from the newest metrics JSON that ``tools/test.py`` wrote."""
    files = sorted(glob.glob(osp.join(test_dir, '*', '*.json')))
    if not files:
        raise SystemExit(f'error: no test metrics JSON under {test_dir}')
    with open(files[-1]) as f:
        return json.load(f)['mIoU'], files[-1]


@torch.no_grad()
def latency(model, shape, repeats):
    """Median seconds of a tensor forward on a zero channels-last image
    (after one warm-up run)."""
    x = torch.zeros(1, 3, *shape).to(memory_format=torch.channels_last)
    model(x, None, mode='tensor')
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x, None, mode='tensor')
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--test-dir', required=True)
    parser.add_argument('--overlay', required=True)
    parser.add_argument('--flows', required=True)
    parser.add_argument(
        '--shapes', default='256x512,1024x2048', help='latency input sizes'
    )
    parser.add_argument(
        '--repeats',
        default='5,3',
        help='timed runs per size (median reported), in --shapes order',
    )
    args = parser.parse_args()

    miou, metrics_file = read_miou(args.test_dir)
    # strict weights; fast=False keeps the BN layers for the parameter count
    model = init_model(args.config, args.checkpoint, fast=False)
    params = sum(p.numel() for p in model.parameters())
    rows = [
        (
            'model',
            f'{type(model.decode_head).__name__} on '
            f'{type(model.backbone).__name__}-{model.backbone.depth}',
        ),
        ('config', args.config),
        ('params', f'{params:,}'),
        ('mIoU', f'{miou:.2f} (toy val set, SFIoUMetric; {metrics_file})'),
    ]
    # the inference fast path: BN folded, channels-last, no dsn branches
    accelerate(model, AccelerationOptions(channels_last=True))
    repeats = [int(r) for r in args.repeats.split(',')]
    for shape, repeat in zip(args.shapes.split(','), repeats):
        h, w = (int(v) for v in shape.split('x'))
        sec = latency(model, (h, w), repeat)
        rows.append(
            (
                f'latency {h}x{w}',
                f'{sec * 1000:.0f} ms (fp32, BN folded, channels-last, '
                f'{torch.get_num_threads()} threads, median of {repeat})',
            )
        )
    rows.append(('CPU', describe()))
    rows.append(('overlay', args.overlay))
    rows.append(('flow fields', args.flows))
    print('\n==== sfseg demo summary ====')
    for key, value in rows:
        print(f'{key:<20} {value}')


if __name__ == '__main__':
    main()
