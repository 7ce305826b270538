"""Config handling shared by ``tools/train.py`` and ``tools/test.py``."""

import os.path as osp

from mmengine.config import Config


def load_runner_config(path, cfg_options=None, work_dir=None, launcher=None):
    """Load ``path`` and apply the command-line overrides of the tools.

    ``work_dir`` defaults to ``./work_dirs/<config name>`` when neither the
    command line nor the config sets one.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if launcher is not None:
        cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(path))[0]
        cfg.work_dir = osp.join('./work_dirs', name)
    return cfg


def add_common_args(parser):
    """Arguments both tools take (mmseg's names, so mim can pass them)."""
    from mmengine.config import DictAction

    parser.add_argument('--work-dir', help='directory for logs and outputs')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=10',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    # torch.distributed.launch passes --local-rank (torchrun sets LOCAL_RANK)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser
