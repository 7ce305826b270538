"""What ``tools/train.py`` and ``tools/test.py`` do to a config: the
command-line arguments both take (mmseg's names, so ``mim`` can pass
them), data root and work dir, and the training policy (AMP,
auto-scale-lr, the sample guard, skipping the ImageNet file when weights
are loaded anyway)."""

import os.path as osp

from mmengine.config import Config

from sfseg.utils import cpu_info
from sfseg.utils.config_lookup import resolve_config
from sfseg.utils.user_errors import SFSegUserError

from .hooks.compile_hook import compile_options
from .resume import find_verified_checkpoint


def amp_dtype(device='cpu'):
    """The autocast dtype of ``--amp`` training on ``device``: fp16 on
    CUDA (with mmengine's dynamic loss scale), bf16 on CPUs with native
    bf16; refused, naming the CPU, on the others."""
    if not str(device).startswith('cpu'):
        return 'float16'  # CUDA (NPU, MLU): fp16 with a loss scale
    if not cpu_info.has_native_bf16():
        raise SFSegUserError(
            f'--amp on {cpu_info.cpu_model()}: CPU autocast is bf16, which '
            'this CPU has no native support for (AVX-512 BF16 / AMX) and '
            'would emulate, several times slower; train in fp32'
        )
    return 'bfloat16'


def _datasets(node):
    """Every dataset dict in a dataloader's ``dataset`` (wrappers too)."""
    if isinstance(node, dict):
        yield node
        yield from _datasets(node.get('dataset'))
        for child in node.get('datasets') or []:
            yield from _datasets(child)


def set_data_root(cfg, data_root):
    """Point the train / val / test datasets of ``cfg`` at ``data_root``.

    Only for configs whose datasets share one root; a config that mixes
    roots (UDS) needs ``--cfg-options`` per dataset.
    """
    datasets = [
        d
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader')
        for d in _datasets((cfg.get(key) or {}).get('dataset'))
        if 'data_root' in d
    ]
    roots = sorted({d['data_root'] for d in datasets})
    if len(roots) != 1:
        raise SFSegUserError(
            f'--data-root needs one data root in the config, found '
            f'{roots or "none"}; set each with --cfg-options instead'
        )
    for dataset in datasets:
        dataset['data_root'] = data_root


def load_runner_config(
    path, cfg_options=None, work_dir=None, launcher=None, data_root=None
):
    """Load ``path`` and apply the command-line overrides of the tools.

    ``path`` may be a bare sfseg config name (see :func:`resolve_config`).
    ``work_dir`` defaults to ``./work_dirs/<config name>`` when neither the
    command line nor the config sets one.
    """
    cfg = Config.fromfile(resolve_config(path))
    if data_root is not None:
        set_data_root(cfg, data_root)
    if launcher is not None:
        cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(path))[0]
        cfg.work_dir = osp.join('./work_dirs', name)
    add_custom_hook(cfg, 'SFOfficialWeightsHook')
    return cfg


def add_custom_hook(cfg, name):
    """Give ``cfg`` the sfseg hook ``name`` unless it has it."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(str(h.get('type')).endswith(name) for h in hooks):
        # scoped: mmdet configs (K-Net, default_scope mmdet) reach it too
        cfg.custom_hooks = hooks + [dict(type=f'mmseg.{name}')]


def enable_auto_scale_lr(cfg, path):
    """Turn on mmengine's ``auto_scale_lr`` (``--auto-scale-lr``): the
    Runner multiplies every learning rate by (GPUs x images per GPU) /
    ``base_batch_size`` before the schedulers start, the linear scaling
    rule. sfseg configs carry the official global batch (8 GPUs x 2
    images, or x 4 for BDD, IDD, Mapillary and UDS) as the base."""
    scale = cfg.get('auto_scale_lr') or {}
    if not scale.get('base_batch_size'):
        raise SFSegUserError(
            f'{path} sets no auto_scale_lr.base_batch_size, so the learning '
            'rate cannot be scaled to the batch; add e.g. auto_scale_lr = '
            'dict(enable=False, base_batch_size=16) to the config'
        )
    cfg.auto_scale_lr = dict(scale, enable=True)
    return cfg


def enable_amp(cfg, device):
    """Turn on mixed precision training (``--amp``) for ``device`` (as
    mmengine's ``get_device()`` names it). On a GPU (NPU, MLU): mmengine's
    ``AmpOptimWrapper``, fp16 with a dynamic loss scale, whose skipping of
    inf / NaN steps replaces :class:`SFOptimWrapper`'s guard. On the CPU:
    ``SFCpuAmpOptimWrapper`` (bf16, the guard kept) where the CPU has
    native bf16, else :class:`SFSegUserError` naming the CPU. Returns
    ``False`` when the config already trains in mixed precision."""
    wrapper = cfg.optim_wrapper
    if wrapper.get('type') in ('AmpOptimWrapper', 'SFCpuAmpOptimWrapper'):
        return False
    dtype = amp_dtype(device)
    if str(device).startswith('cpu'):
        wrapper.type = 'SFCpuAmpOptimWrapper'
    else:
        wrapper.type = 'AmpOptimWrapper'
        wrapper.loss_scale = 'dynamic'
        wrapper.pop('nonfinite', None)
        wrapper.pop('max_skips', None)
    wrapper.dtype = dtype
    return True


def _imagenet_inits(node, path='model'):
    """``(dict, path)`` of every module config whose ``init_cfg`` reads
    the official ImageNet file."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'SFImageNetInit':
            yield node, path
        for key, value in node.items():
            yield from _imagenet_inits(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _imagenet_inits(value, f'{path}.{i}')


def skip_imagenet_init_when_loading(cfg):
    """Drop the ImageNet initialisation when the weights will come from a
    checkpoint anyway (``load_from``, or ``--resume`` with a checkpoint in
    the work dir): mmengine's Runner initialises before it loads, and a
    resumed or fine-tuned run should not need the ImageNet file."""
    source = cfg.get('load_from')
    if not source and cfg.get('resume'):
        source = find_verified_checkpoint(cfg.work_dir)
    if not source:
        return []
    skipped = []
    for module, path in _imagenet_inits(cfg.get('model')):
        module['init_cfg'] = None
        skipped.append(path)
    if skipped:
        from mmengine.logging import print_log

        print_log(
            f'ImageNet initialisation of {", ".join(skipped)} skipped: '
            f'the weights come from {source}',
            logger='current',
        )
    return skipped


GUARD_TYPES = ('SFSampleGuard', 'mmseg.SFSampleGuard')


def guard_training_samples(cfg):
    """Wrap the training set of ``cfg`` in ``SFSampleGuard`` (bad samples
    named with their files and index, or replaced; see
    :mod:`sfseg.datasets.sample_guard`) with the options of the config's
    ``sample_guard`` dict and ``randomness.seed`` as the replacements'
    seed. Nothing changes when the config already wraps it."""
    loader = cfg.get('train_dataloader') or {}
    dataset = loader.get('dataset')
    if not dataset or dataset.get('type') in GUARD_TYPES:
        return
    options = dict(cfg.get('sample_guard') or {})
    options.setdefault('seed', (cfg.get('randomness') or {}).get('seed'))
    # scoped: mmdet configs (K-Net, default_scope mmdet) reach it too
    loader['dataset'] = dict(
        type='mmseg.SFSampleGuard', dataset=dataset, **options
    )


def compile_network(cfg):
    """Give a config that asks for ``compile`` the ``SFCompileHook`` (the
    network and its losses compiled instead of mmengine's whole
    ``train_step``; see :mod:`sfseg.engine.hooks.compile_hook`), unless it
    has one. -> whether the config asks for ``compile``."""
    if compile_options(cfg) is None:
        return False
    add_custom_hook(cfg, 'SFCompileHook')
    return True


def add_common_args(parser):
    """Arguments both tools take (mmseg's names, so mim can pass them)."""
    from mmengine.config import DictAction

    parser.add_argument('--work-dir', help='directory for logs and outputs')
    parser.add_argument(
        '--data-root',
        help='the dataset root of every dataloader (configs with one root)',
    )
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
