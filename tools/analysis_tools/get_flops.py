"""FLOPs and parameters of a segmentor from its config.

mmseg 1.2.2's get_flops.py passes both ``input_shape`` and ``inputs`` to
mmengine >= 0.7.3, which rejects that; this one passes only ``inputs``.
FLOPs follow mmengine's (fvcore-style) counter: one multiply-accumulate of
a conv or linear layer counts as one FLOP. The segmentor is measured in
``mode='tensor'`` (eval), so training-only branches are excluded.
"""

import argparse

from mmengine.config import Config, DictAction

from sfseg.benchmark import count_flops
from sfseg.utils import resolve_config


def parse_args():
    parser = argparse.ArgumentParser(description='Count FLOPs and params')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[1024, 2048],
        help='input height and width',
    )
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='overrides'
    )
    return parser.parse_args()


def main():
    args = parse_args()
    if len(args.shape) == 1:
        shape = (args.shape[0], args.shape[0])
    elif len(args.shape) == 2:
        shape = tuple(args.shape)
    else:
        raise ValueError(f'--shape takes 1 or 2 integers, got {args.shape}')
    cfg = Config.fromfile(resolve_config(args.config))
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    gflops, params = count_flops(cfg, shape)
    split = '=' * 40
    print(
        f'{split}\nConfig: {args.config}\nInput shape: 1x3x{shape[0]}x'
        f'{shape[1]}\nFlops: {gflops:.2f} GFLOPs\nParams: {params:,}\n'
        f'{split}'
    )


if __name__ == '__main__':
    main()
