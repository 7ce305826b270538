"""Per-operator CPU profile of the fast path, flow warps by grid_sample
(before) and by the channels-last gather (after), side by side.

    python tools/analysis_tools/profile_heads.py CONFIG [CONFIG ...] \\
        [--shape 1024 2048] [--threads 2] [--rounds 3] [--out FILE.md]

Each config's model (random weights, BN folded, channels-last) runs on
one random image; both paths alternate for ``--rounds`` rounds under
``torch.profiler`` and the round with the smallest total is kept per
path. Convolutions are one row; every other operator gets its own row,
so the head's overhead (grid_sample, copies, concatenation, the GD-FAM
gate arithmetic) is read off directly. The outputs of both paths are
compared (max abs difference).
"""

import argparse
import collections
import os.path as osp
import sys

import torch
from mmseg.utils import register_all_modules

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)

from benchmark import build  # noqa: E402

from sfseg.models.layers import set_gather_warp  # noqa: E402
from sfseg.utils import (  # noqa: E402
    cpu_info,
    prepare_for_inference,
    resolve_config,  # noqa: E402
)

PATHS = ('grid_sample', 'gather')


def op_times(model, x, gather):
    """``({op: ms}, total ms, output)`` of one profiled forward."""
    previous = set_gather_warp(gather)
    try:
        with torch.profiler.profile() as prof:
            out = model(x, None, mode='tensor')
    finally:
        set_gather_warp(previous)
    times = collections.Counter()
    for event in prof.key_averages():
        name = event.key.replace('aten::', '')
        if 'conv' in name:
            name = 'convolutions'
        times[name] += event.self_cpu_time_total / 1e3
    return times, sum(times.values()), out


def profile(config, shape, rounds):
    model, _ = build(resolve_config(config))
    model = prepare_for_inference(model, channels_last=True)
    x = torch.randn(1, 3, *shape).contiguous(memory_format=torch.channels_last)
    best, outputs = {}, {}
    with torch.no_grad():
        for path in PATHS:  # warm-up
            outputs[path] = op_times(model, x, path == 'gather')[2]
        for _ in range(rounds):
            for path in PATHS:
                times, total, _ = op_times(model, x, path == 'gather')
                if path not in best or total < best[path][1]:
                    best[path] = (times, total)
    diff = float((outputs['gather'] - outputs['grid_sample']).abs().max())
    return best, diff


def to_markdown(name, best, diff, top=10):
    before, total_before = best['grid_sample']
    after, total_after = best['gather']
    ops = [
        op for op, _ in (before + after).most_common() if op != 'convolutions'
    ]
    lines = [
        f'#### {name}',
        '',
        f'total {total_before:.0f} ms -> {total_after:.0f} ms '
        f'({total_before / total_after:.2f}x); outputs differ by '
        f'{diff:.1e} (max abs)',
        '',
        '| operator | grid_sample ms | gather ms |',
        '|---|---|---|',
        f'| convolutions | {before["convolutions"]:.0f} | '
        f'{after["convolutions"]:.0f} |',
    ]
    lines += [
        f'| {op} | {before.get(op, 0):.0f} | {after.get(op, 0):.0f} |'
        for op in ops[:top]
    ]
    rest_before = sum(before.get(op, 0) for op in ops[top:])
    rest_after = sum(after.get(op, 0) for op in ops[top:])
    lines.append(f'| other | {rest_before:.0f} | {rest_after:.0f} |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--shape', type=int, nargs=2, default=[1024, 2048])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--out', help='also write the tables to this file')
    args = parser.parse_args(argv)
    register_all_modules(init_default_scope=True)
    torch.set_num_threads(args.threads)
    header = (
        f'Per-operator self CPU time, fast path, 1x3x{args.shape[0]}x'
        f'{args.shape[1]}, {args.threads} threads, best of {args.rounds} '
        f'rounds, torch {torch.__version__}. CPU: {cpu_info.describe()}.\n'
    )
    tables = [header]
    for config in args.configs:
        best, diff = profile(config, tuple(args.shape), args.rounds)
        name = osp.splitext(osp.basename(config))[0]
        tables.append(to_markdown(name, best, diff))
        print(tables[-1], flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            f.write('\n'.join(tables))
    return tables


if __name__ == '__main__':
    main()
