"""FLOPs and parameters of a segmentor from its config.

mmseg 1.2.2's get_flops.py passes both ``input_shape`` and ``inputs`` to
mmengine >= 0.7.3, which rejects that; this one passes only ``inputs``.
FLOPs follow mmengine's (fvcore-style) counter: one multiply-accumulate of
a conv or linear layer counts as one FLOP. The segmentor is measured in
``mode='tensor'`` (eval), so training-only branches are excluded.
"""

import argparse

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config, DictAction
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from sfseg.utils import resolve_config


class _TensorForward(torch.nn.Module):
    def __init__(self, segmentor):
        super().__init__()
        self.segmentor = segmentor

    def forward(self, inputs):
        return self.segmentor(inputs, None, mode='tensor')


def count_flops(cfg, shape=(1024, 2048), in_channels=3):
    """Return (GFLOPs, params) of ``cfg.model`` for a 1 x C x H x W input."""
    register_all_modules(init_default_scope=True)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.eval()
    wrapper = _TensorForward(model).eval()
    inputs = torch.zeros(1, in_channels, *shape)
    with torch.no_grad():
        info = get_model_complexity_info(
            wrapper, inputs=(inputs,), show_table=False, show_arch=False
        )
    params = sum(p.numel() for p in model.parameters())
    return info['flops'] / 1e9, params


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
