"""Side-by-side latency and memory benchmark (protocol: docs/benchmark.md).

    python tools/analysis_tools/benchmark.py [CONFIG ...] [--peers] \\
        [--variants eager fast bf16 onnx] [--shape 1024 2048] \\
        [--rounds 5] [--official-root SFSegNets] --out-dir bench/
    ... --device cuda --tf32 off --variants eager fold fp16 bf16 onnx

Every (model, variant) pair is timed in one process, interleaved round
by round after a warm-up, with random weights on a random image; the
fp32 matmul peak of the machine is measured in the same run and gives a
roofline time per model (2 x MACs / peak); on CUDA with cuDNN autotuning,
TF32 as ``--tf32`` says, CUDA-event timing. Writes ``benchmark.md``,
``benchmark.json`` and a speed-vs-accuracy plot (accuracy quoted from the
metafiles, never measured here). ``VARIANTS`` names what is timed;
``--official-root`` adds the official SFNet models for the sfseg configs
that have one, with the same weights, so their outputs are compared too.
The models, inputs and runners are built by :mod:`sfseg.benchmark`.
"""

import argparse
import glob
import json
import os
import os.path as osp
import statistics
import tempfile
import time

import numpy as np
import torch
from mmseg.utils import register_all_modules

from sfseg import benchmark as lib
from sfseg.benchmark import (
    PEERS,
    QUOTED_FPS,
    VARIANTS,
    count_flops,
    skipped_variants,
    to_markdown,
)
from sfseg.datasets.toy.driving import draw_scene
from sfseg.models.official import family_of_config
from sfseg.utils import resolve_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# the default configs: every sfseg Cityscapes one
SFSEG_CONFIGS = osp.join(REPO, 'configs', 'sfnet*', '*cityscapes*.py')


def runners_of(args, name, path, shape, x, calib, tmp, device, skipped):
    """``(table row, [(variant, runner)])`` of one model."""
    model, cfg = lib.build_segmentor(path, args.checkpoint)
    model.eval()
    gmacs, params = count_flops(cfg, shape)
    model.to(device)
    row = dict(name=name, params=params, gmacs=gmacs,
               miou=lib.quoted_miou(path),
               quoted_fps=QUOTED_FPS.get(name, '-'), variants={})  # fmt: skip
    runners = []
    family = family_of_config(name)
    if args.official_root and family is not None:
        from sfseg.official_checks.official_sfsegnets import official_logits
        from sfseg.official_checks.official_twin import official_twin

        official = official_twin(args.official_root, family.name, model).to(
            device
        )
        runners.append(('official', lambda: official_logits(official, x)))
    for variant in (v for v in args.variants if v not in skipped):
        try:
            runners.append((variant, lib.variant_runner(
                model, VARIANTS[variant], x, osp.join(tmp, name),
                args.threads, calib)))  # fmt: skip
        except lib.VariantSkipped as reason:  # reported, never fatal
            skipped[variant] = str(reason)
    return row, runners


def benchmark(args):
    register_all_modules(init_default_scope=True)
    torch.set_num_threads(args.threads)
    shape = tuple(args.shape)
    device = torch.device(args.device)
    cuda = device.type == 'cuda'
    # stated in the report: cuDNN autotuning, TF32 on or off
    settings = lib.configure_cuda(args.tf32 == 'on') if cuda else {}
    entries = [
        (osp.splitext(osp.basename(p))[0], resolve_config(p))
        for p in (args.configs or sorted(glob.glob(SFSEG_CONFIGS)))
    ]
    first = lib.build_segmentor(entries[0][1])[0]
    # street scenes: seed 0 the input (--image scene), 1-4 int8 calibration
    scenes = [draw_scene(*shape, np.random.default_rng(seed))[0]
              for seed in range(5 if args.image else 0)]  # fmt: skip
    image = scenes[0] if args.image == 'scene' else args.image
    x, calib = lib.benchmark_inputs(first, shape, image, scenes[1:])
    x = x.to(device)
    if args.peers is not None:
        unknown = set(args.peers) - set(PEERS)
        if unknown:
            raise SystemExit(
                f'error: unknown peers {sorted(unknown)}; known: {list(PEERS)}'
            )
        entries += [(n, lib.mmseg_config(rel)) for n, rel in PEERS.items()
                    if not args.peers or n in args.peers]  # fmt: skip
    skipped = skipped_variants(args.variants, device, args.force_bf16)
    peak_start = lib.matmul_peak(device=device)
    rows, timed = {}, []  # timed: (row name, variant, runner, stats)
    tmp = tempfile.TemporaryDirectory()
    for name, path in entries:
        rows[name], runners = runners_of(
            args, name, path, shape, x, calib, tmp.name, device, skipped
        )
        timed += [(name, v, run, dict(times=[])) for v, run in runners]
    # Warm-up, reference outputs and peak memory, one runner at a time
    # (CUDA: the warm-up first, so cuDNN's autotuning is behind it).
    with torch.no_grad():
        refs = {}
        for name, _, runner, stats in timed:
            for _ in range(args.warmup if cuda else 0):
                runner()
            start = time.perf_counter()  # a compiled variant compiles here
            out, stats['peak_mb'] = lib.run_with_peak_memory(runner, device)
            stats['first_s'] = time.perf_counter() - start
            ref = refs.setdefault(name, out)
            stats['max_abs_diff'], stats['agreement'] = lib.output_agreement(
                out, ref
            )
            for _ in range(0 if cuda else args.warmup - 1):
                runner()
        for _ in range(args.rounds):
            for _, _, runner, stats in timed:
                stats['times'].append(lib.time_call(runner, device))
    peak = max(peak_start, lib.matmul_peak(device=device))
    tmp.cleanup()
    for name, variant, _, stats in timed:
        row, times = rows[name], stats['times']
        row['roofline_s'] = roofline = 2 * row['gmacs'] / peak
        row['variants'][variant] = dict(
            median_s=statistics.median(times),
            min_s=min(times),
            max_s=max(times),
            peak_mb=stats['peak_mb'],
            first_call_s=stats['first_s'],
            x_roofline=statistics.median(times) / roofline,
            max_abs_diff=stats['max_abs_diff'],
            argmax_agreement=stats['agreement'],
        )
    result = dict(
        shape=shape,
        device=str(device),
        threads=args.threads,
        rounds=args.rounds,
        matmul_gflops=peak,
        **lib.machine_description(device),
        skipped=skipped,
        torch=torch.__version__,
        rows=list(rows.values()),
    )
    if cuda:
        result.update(settings, warmup=args.warmup, timer='CUDA events')
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    # fmt: off
    add('configs', nargs='*', help='default: every sfseg Cityscapes config')
    add('--peers', nargs='*', metavar='NAME',
        help="add mmseg's real-time models (all, or those named)")
    add('--variants', nargs='+', default=['eager', 'fast'],
        choices=list(VARIANTS))
    add('--shape', type=int, nargs=2, default=[1024, 2048])
    add('--image', help="input image file or 'scene' (a generated street "
        'scene); default: random noise')
    add('--checkpoint',
        help='weights for every config given (strict); default: random')
    add('--rounds', type=int, help='default: 5 on the CPU, 50 on CUDA')
    add('--warmup', type=int, help='default: 1 on the CPU, 10 on CUDA')
    add('--threads', type=int, default=2)
    add('--device', default='cpu', help="'cpu' or 'cuda[:N]'")
    add('--tf32', choices=['on', 'off'], default='off',
        help='CUDA: TF32 for fp32 convolutions and matmuls (stated in the '
        'report)')
    add('--official-root', help='local lxtGH/SFSegNets clone to compare with')
    add('--force-bf16', action='store_true',
        help='time bf16 even on a CPU without native bf16 (emulated, slow)')
    add('--out-dir', default='work_dirs/benchmark')
    # fmt: on
    args = parser.parse_args(argv)
    cuda = args.device.startswith('cuda')
    if args.rounds is None:
        args.rounds = 50 if cuda else 5
    if args.warmup is None:
        args.warmup = 10 if cuda else 1
    if args.rounds < 1 or args.warmup < 0:
        parser.error('--rounds must be 1 or more and --warmup 0 or more')
    return args


def main(argv=None):
    args = parse_args(argv)
    result = benchmark(args)
    os.makedirs(args.out_dir, exist_ok=True)
    table = to_markdown(result)
    with open(osp.join(args.out_dir, 'benchmark.md'), 'w') as f:
        f.write(table)
    with open(osp.join(args.out_dir, 'benchmark.json'), 'w') as f:
        json.dump(result, f, indent=1)
    png = osp.join(args.out_dir, 'speed_accuracy.png')
    lib.plot_speed_accuracy(result, png)
    print(table)


if __name__ == '__main__':
    main()
