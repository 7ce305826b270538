"""Train a segmentor with MMEngine's Runner (what ``mim train sfseg`` runs).

Same command line as mmseg's ``tools/train.py``; ``sfseg`` is imported so
its modules are registered even when the config has no custom_imports.
The training set is wrapped in ``SFSampleGuard`` (options: the config's
``sample_guard`` dict, e.g. ``--cfg-options sample_guard.on_bad=skip``).
``--cfg-options compile=True`` compiles the network and its losses
(``SFCompileHook``), not mmengine's whole training step.
"""

import argparse
import logging
import os

from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.runner import Runner
from torch.distributed.elastic.multiprocessing.errors import record

from sfseg.engine import (
    add_common_args,
    compile_network,
    enable_amp,
    enable_auto_scale_lr,
    guard_training_samples,
    load_runner_config,
    skip_imagenet_init_when_loading,
)
from sfseg.engine.resume import find_verified_checkpoint
from sfseg.utils import exit_on_user_error


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='resume from the latest checkpoint in the work dir when there '
        'is one (else start, from load_from if the config sets it); '
        'tools/dist_train.sh always passes it',
    )
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision: fp16 on CUDA, bf16 on CPUs with '
        'native bf16',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the real batch (GPUs x images per '
        'GPU) over the official one (auto_scale_lr.base_batch_size)',
    )
    args = add_common_args(parser).parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


@record  # torchrun's failure summary names the rank and its traceback
def main():
    args = parse_args()
    cfg = load_runner_config(
        args.config,
        args.cfg_options,
        args.work_dir,
        args.launcher,
        data_root=args.data_root,
    )
    if args.amp and not enable_amp(cfg, get_device()):
        print_log(
            'AMP is already enabled in the config.',
            logger='current',
            level=logging.WARNING,
        )
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg, args.config)
    cfg.resume = args.resume
    if args.resume and cfg.get('load_from'):
        # mmengine resumes from load_from when both are set: a fine-tuning
        # config (load_from = pretrained weights) would restore the other
        # run's iteration; resume only what this work dir has written.
        latest = find_verified_checkpoint(cfg.work_dir)
        if latest is None:
            cfg.resume = False
        else:
            cfg.load_from = latest
    skip_imagenet_init_when_loading(cfg)
    guard_training_samples(cfg)
    compile_network(cfg)
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    with exit_on_user_error():
        main()
