"""Per-operator CPU profile of two inference paths, side by side.

    python tools/analysis_tools/profile_heads.py CONFIG [CONFIG ...] \\
        [--compare gather|nnpack] [--shape 1024 2048] [--threads 2] \\
        [--rounds 3] [--out FILE.md]

``--compare gather`` (default): the channels-last fast path with flow
warps by grid_sample (before) and by the gather (after).
``--compare nnpack``: the channels-last fast path (before) and the
NCHW path with NNPACK's convolution kernels and separable max pooling
(after), the two layouts :mod:`sfseg.acceleration.layout_tuner` chooses from.
``--compare fusion``: the channels-last fast path with the heads' fusion
conv over upsampled, concatenated levels (before) and with each coarse
level's share computed at its own size (after,
:class:`~sfseg.models.layers.LowResFusion`).

Each config's model (random weights, BN folded) runs on one random
image; both paths alternate for ``--rounds`` rounds under
``torch.profiler`` and the round with the smallest total is kept per
path. oneDNN and NNPACK convolutions get one row each; every other
operator gets its own row, so the head's overhead (grid_sample, copies,
concatenation, the GD-FAM gate arithmetic) is read off directly. The
outputs of both paths are compared (max abs difference).
"""

import argparse
import collections
import copy
import os.path as osp

import torch
from mmseg.utils import register_all_modules

from sfseg.acceleration import (
    AccelerationOptions,
    accelerate,
    cpu_info,
    override,
)
from sfseg.benchmark import build_segmentor
from sfseg.utils import resolve_config

COMPARISONS = {
    'gather': ('grid_sample', 'gather'),
    'nnpack': ('channels_last', 'nchw_nnpack'),
    'fusion': ('upsample_cat', 'low_res_fusion'),
}
CL = torch.channels_last
CHANNELS_LAST = AccelerationOptions(channels_last=True)


def op_times(model, x, gather=True, low_res=True):
    """``({op: ms}, total ms, output, {op: calls})`` of one profiled
    forward."""
    with override(gather_warp=gather, low_res_fusion=low_res):
        with torch.profiler.profile() as prof:
            out = model(x, None, mode='tensor')
    times, calls = collections.Counter(), collections.Counter()
    for event in prof.key_averages():
        name = event.key.replace('aten::', '')
        if 'nnpack_spatial' in name:
            name = 'convolutions (NNPACK)'
        elif 'conv' in name:
            name = 'convolutions'
        times[name] += event.self_cpu_time_total / 1e3
        calls[name] += event.count
    return times, sum(times.values()), out, calls


def make_paths(config, shape, compare):
    """``{path: (model, input, gather warp on, low-res fusion on)}`` of
    the two paths compared."""
    model, _ = build_segmentor(resolve_config(config))
    x = torch.randn(1, 3, *shape)
    xcl = x.contiguous(memory_format=CL)
    before, after = COMPARISONS[compare]
    if compare == 'nnpack':
        nchw = accelerate(
            copy.deepcopy(model), AccelerationOptions(nnpack=True)
        )
        fast = accelerate(model, CHANNELS_LAST)
        return {before: (fast, xcl, True, True), after: (nchw, x, True, True)}
    fast = accelerate(model, CHANNELS_LAST)
    if compare == 'fusion':  # the same model with the fusion off / on
        return {
            before: (fast, xcl, True, False),
            after: (fast, xcl, True, True),
        }
    return {before: (fast, xcl, False, True), after: (fast, xcl, True, True)}


def profile(config, shape, rounds, compare='gather'):
    paths = make_paths(config, shape, compare)
    best, outputs = {}, {}
    with torch.no_grad():
        for path, args in paths.items():  # warm-up (and NNPACK kernel timing)
            outputs[path] = op_times(*args)[2]
        for _ in range(rounds):
            for path, args in paths.items():
                times, total, _, calls = op_times(*args)
                if path not in best or total < best[path][1]:
                    best[path] = (times, total, calls)
    before, after = outputs.values()
    return best, float((after - before).abs().max())


def to_markdown(name, best, diff, top=10):
    path_before, path_after = best
    before, total_before = best[path_before][:2]
    after, total_after = best[path_after][:2]
    convs = ['convolutions', 'convolutions (NNPACK)']
    ops = [op for op, _ in (before + after).most_common() if op not in convs]
    lines = [
        f'#### {name}',
        '',
        f'total {total_before:.0f} ms -> {total_after:.0f} ms '
        f'({total_before / total_after:.2f}x); outputs differ by '
        f'{diff:.1e} (max abs)',
        '',
        f'| operator | {path_before} ms | {path_after} ms |',
        '|---|---|---|',
    ]
    # the slowest operators, and every one that only one path runs (what
    # the comparison is about, however fast it is on this CPU)
    only_one = [op for op in ops[top:] if (op in before) != (op in after)]
    shown = [op for op in convs if op in before or op in after]
    shown += ops[:top] + only_one
    lines += [
        f'| {op} | {before.get(op, 0):.0f} | {after.get(op, 0):.0f} |'
        for op in shown
    ]
    rest = [op for op in ops if op not in shown]
    rest_before = sum(before.get(op, 0) for op in rest)
    rest_after = sum(after.get(op, 0) for op in rest)
    lines.append(f'| other | {rest_before:.0f} | {rest_after:.0f} |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument(
        '--compare', choices=sorted(COMPARISONS), default='gather'
    )
    parser.add_argument('--shape', type=int, nargs=2, default=[1024, 2048])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--out', help='also write the tables to this file')
    args = parser.parse_args(argv)
    register_all_modules(init_default_scope=True)
    torch.set_num_threads(args.threads)
    header = (
        f'Per-operator self CPU time, {" vs ".join(COMPARISONS[args.compare])}'
        f', 1x3x{args.shape[0]}x'
        f'{args.shape[1]}, {args.threads} threads, best of {args.rounds} '
        f'rounds, torch {torch.__version__}. CPU: {cpu_info.describe()}.\n'
    )
    tables = [header]
    for config in args.configs:
        best, diff = profile(
            config, tuple(args.shape), args.rounds, args.compare
        )
        name = osp.splitext(osp.basename(config))[0]
        tables.append(to_markdown(name, best, diff))
        print(tables[-1], flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            f.write('\n'.join(tables))
    return tables


if __name__ == '__main__':
    main()
