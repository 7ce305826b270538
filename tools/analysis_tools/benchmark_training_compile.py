"""Training iterations, eager against ``compile``, side by side in one
process: per-iteration time after warm-up, the first iterations (where
compilation happens), dynamo's compiled frames and graph breaks, and the
largest difference between the two runs' losses.

    python tools/analysis_tools/benchmark_training_compile.py CONFIG \\
        [--iters 20] [--warmup 3] [--backend inductor] [--mode MODE] \\
        [--amp] [--cfg-options ...]

The Runner trains on the GPU where there is one; ``--amp`` trains both
runs in mixed precision as ``tools/train.py --amp`` does.
"""

import argparse
import statistics
import tempfile

import torch
from mmengine.config import DictAction
from mmengine.device import get_device

from sfseg.benchmark.training import record_training
from sfseg.engine import enable_amp, load_runner_config
from sfseg.utils import cpu_info


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--backend', default='inductor')
    parser.add_argument('--mode', help='torch.compile mode')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (as --amp)'
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.warmup >= args.iters:
        raise SystemExit('--warmup must be smaller than --iters')
    compile_cfg = dict(backend=args.backend)
    if args.mode:
        compile_cfg['mode'] = args.mode
    runs = {}
    for name, options in [('eager', False), ('compile', compile_cfg)]:
        cfg = load_runner_config(args.config, args.cfg_options, None, 'none')
        if args.amp:
            enable_amp(cfg, get_device())
        with tempfile.TemporaryDirectory() as work_dir:
            runs[name] = record_training(cfg, options, args.iters, work_dir)
    where = f'CPU {cpu_info.describe()}'
    if get_device() == 'cuda':
        where = f'GPU {torch.cuda.get_device_name()}, {where}'
    amp = ', AMP' if args.amp else ''
    print(f'{args.config}: {args.iters} iterations{amp}, {where}')
    steady = {}
    for name, run in runs.items():
        steady[name] = statistics.median(run.seconds[args.warmup :])
        first = ', '.join(f'{s:.2f}' for s in run.seconds[: args.warmup])
        print(
            f'{name:8s} median {steady[name]:.3f} s/iter after '
            f'{args.warmup} (first: {first} s); compiled frames '
            f'{run.frames[-1]} (after iteration 1: {run.frames[0]}), '
            f'graph breaks {run.breaks[-1]}'
        )
    eager, compiled = runs['eager'].losses, runs['compile'].losses
    worst = max(
        abs(a - b) / max(abs(a), 1e-12) for a, b in zip(eager, compiled)
    )
    print(
        f'compile / eager per iteration: '
        f'{steady["compile"] / steady["eager"]:.2f}; largest relative '
        f'loss difference over {args.iters} iterations: {worst:.2e}'
    )


if __name__ == '__main__':
    main()
