"""Evaluate a checkpoint with MMEngine's Runner (``mim test sfseg``)."""

import argparse
import os
import os.path as osp

from mmengine.runner import Runner

from sfseg.engine import add_common_args, load_runner_config
from sfseg.utils import exit_on_user_error


def parse_args():
    parser = argparse.ArgumentParser(description='Test a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='directory to save predicted label maps (PNG); panoptic '
        'configs write OUT/results.panoptic/*.png and its JSON',
    )
    parser.add_argument(
        '--show-dir', help='directory to save prediction overlays'
    )
    parser.add_argument(
        '--tta', action='store_true', help='test-time augmentation'
    )
    args = add_common_args(parser).parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    if not os.path.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint not found: {args.checkpoint}')
    cfg = load_runner_config(
        args.config,
        args.cfg_options,
        args.work_dir,
        args.launcher,
        data_root=args.data_root,
    )
    cfg.load_from = args.checkpoint
    if args.show_dir:
        hook = cfg.default_hooks.visualization
        hook.draw = True
        hook.interval = 1
        cfg.visualizer.save_dir = args.show_dir
    if args.out:
        evaluator = cfg.test_evaluator
        if evaluator.get('type') == 'CocoPanopticMetric':
            # mmdet panoptic configs: PNGs in OUT/results.panoptic/ + JSON
            evaluator['outfile_prefix'] = osp.join(args.out, 'results')
        else:
            evaluator['output_dir'] = args.out
            evaluator['keep_results'] = True
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    Runner.from_cfg(cfg).test()


if __name__ == '__main__':
    with exit_on_user_error():
        main()
