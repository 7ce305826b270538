"""Shims for the pinned OpenMMLab stack on recent PyTorch.

Each shim states the upstream problem it works around so it can be dropped
once the fix is released. Checkpoint loading under torch >= 2.6 lives in
``checkpoint.py``.
"""

import functools
import os
import warnings

import mmengine.dist.utils as dist_utils
import torch
from mmengine.model import MMDistributedDataParallel

_original_init_dist_pytorch = dist_utils._init_dist_pytorch


def _attempt_store(kwargs):
    """``kwargs`` for ``init_process_group`` on the torchrun agent's store
    under a prefix naming the restart attempt.

    torchrun (torch 2.x) hosts one TCPStore for all restarts of a job and
    the workers' ``env://`` rendezvous adds no attempt prefix, so restarted
    workers can read the previous attempt's gloo / NCCL addresses and fail
    with "Connection refused" (every group after the first, at random for
    the first). Outside torchrun, or with an explicit store, unchanged.
    """
    attempt = os.environ.get('TORCHELASTIC_RESTART_COUNT')
    agent = os.environ.get('TORCHELASTIC_USE_AGENT_STORE') == str(True)
    if attempt is None or not agent or {'store', 'init_method'} & set(kwargs):
        return kwargs
    from torch.distributed import PrefixStore, TCPStore
    from torch.distributed.constants import default_pg_timeout

    world_size = int(os.environ['WORLD_SIZE'])
    store = TCPStore(
        os.environ['MASTER_ADDR'],
        int(os.environ['MASTER_PORT']),
        world_size,
        is_master=False,
        timeout=kwargs.get('timeout', default_pg_timeout),
    )
    return dict(
        kwargs,
        store=PrefixStore(f'/sfseg/attempt_{attempt}', store),
        rank=int(os.environ['RANK']),
        world_size=world_size,
    )


def _init_dist_pytorch_cpu(backend, init_backend='torch', **kwargs):
    kwargs = _attempt_store(kwargs) if init_backend == 'torch' else kwargs
    # mmengine 0.10.7 calls torch.cuda.set_device() unconditionally, which
    # raises on CPU-only torch builds, so CPU multi-process training
    # (gloo) cannot start. Without CUDA, skip it; nccl falls back to gloo.
    if torch.cuda.is_available() or init_backend != 'torch':
        return _original_init_dist_pytorch(backend, init_backend, **kwargs)
    if backend == 'nccl':
        warnings.warn(
            'CUDA is not available: using the gloo backend '
            'instead of nccl for distributed training.'
        )
        backend = 'gloo'
    torch.distributed.init_process_group(backend=backend, **kwargs)


def _cpu_safe_ddp_init(init):
    # The Runner always passes device_ids=[LOCAL_RANK]; DDP rejects
    # device_ids for CPU modules.
    @functools.wraps(init)
    def wrapped(self, module, *args, **kwargs):
        if not torch.cuda.is_available():
            kwargs['device_ids'] = None
        init(self, module, *args, **kwargs)

    wrapped._sfseg_cpu_safe = True
    return wrapped


def patch_cpu_distributed() -> None:
    """Let ``launcher='pytorch'`` runs work on machines without CUDA and
    after a torchrun restart."""
    dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu
    init = MMDistributedDataParallel.__init__
    if not getattr(init, '_sfseg_cpu_safe', False):
        MMDistributedDataParallel.__init__ = _cpu_safe_ddp_init(init)


def _is_installed(package):
    from importlib import metadata, util

    try:
        metadata.distribution(package)
        return True
    except metadata.PackageNotFoundError:
        spec = util.find_spec(package)
        return spec is not None and spec.origin is not None


def _package2module(package):
    from importlib import metadata

    dist = metadata.distribution(package)
    top = (dist.read_text('top_level.txt') or '').split()
    if not top:
        raise ValueError(f'can not infer the module name of {package}')
    return top[0]


def _get_installed_path(package):
    from importlib import metadata, util

    module = package  # a distribution's name may not be its module's
    try:
        metadata.distribution(package)
        if util.find_spec(package) is None:
            module = _package2module(package)
    except metadata.PackageNotFoundError:
        pass
    spec = util.find_spec(module)
    if spec is None:
        raise metadata.PackageNotFoundError(package)
    if spec.origin is None:
        raise RuntimeError(
            f'{package} is a namespace package, which is invalid for '
            '`get_install_path`'
        )
    return os.path.dirname(spec.origin)


def patch_package_lookup() -> None:
    """Let mmengine find installed packages without ``pkg_resources``.

    mmengine 0.10.7 resolves ``mmseg::`` / ``mmdet::`` config bases through
    ``pkg_resources``, which setuptools 82 removed: on a current
    environment every sfseg config fails to load with "No module named
    'pkg_resources'". Where it is missing, the lookups use
    ``importlib.metadata`` instead (same answers, tested against the
    originals); where it exists, mmengine is left as it is.
    """
    from importlib import util

    # found, not imported: importing it warns that it is deprecated
    if util.find_spec('pkg_resources') is not None:
        return
    import mmengine.config.config as config
    import mmengine.hub.hub as hub
    import mmengine.utils as utils
    import mmengine.utils.package_utils as package_utils

    for module in (config, hub, utils, package_utils):
        for name, shim in (
            ('is_installed', _is_installed),
            ('get_installed_path', _get_installed_path),
            ('package2module', _package2module),
        ):
            if hasattr(module, name):
                setattr(module, name, shim)
