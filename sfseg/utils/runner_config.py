"""Config handling shared by ``tools/train.py`` and ``tools/test.py``."""

import glob
import os.path as osp

from mmengine.config import Config

PACKAGE_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def resolve_config(path):
    """Return ``path`` if it exists, else the sfseg config of that name.

    Lets ``mim run sfseg get_flops <config name>`` (mim passes names on
    verbatim) and the tools accept a bare config file name.
    """
    if osp.isfile(path):
        return path
    if osp.dirname(path) == '':
        roots = [
            osp.join(PACKAGE_ROOT, '.mim', 'configs'),
            osp.join(osp.dirname(PACKAGE_ROOT), 'configs'),
        ]
        for root in roots:
            found = glob.glob(osp.join(root, '**', path), recursive=True)
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise FileNotFoundError(
                    f'config name {path} is ambiguous: {sorted(found)}'
                )
    raise FileNotFoundError(f'config file not found: {path}')


def load_runner_config(path, cfg_options=None, work_dir=None, launcher=None):
    """Load ``path`` and apply the command-line overrides of the tools.

    ``path`` may be a bare sfseg config name (see :func:`resolve_config`).
    ``work_dir`` defaults to ``./work_dirs/<config name>`` when neither the
    command line nor the config sets one.
    """
    cfg = Config.fromfile(resolve_config(path))
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
