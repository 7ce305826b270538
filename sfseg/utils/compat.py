"""Shims for the pinned OpenMMLab stack on recent PyTorch.

Each shim states the upstream problem it works around so it can be dropped
once the fix is released.
"""

import functools
import warnings

import mmengine.dist.utils as dist_utils
import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.runner import CheckpointLoader


def _torch_load_full(filename, map_location=None):
    # Runner checkpoints pickle mmengine/numpy objects (HistoryBuffer,
    # ndarray), which torch >= 2.6's default ``weights_only=True`` rejects.
    # mmengine 0.10.7 calls ``torch.load`` without the flag (fixed upstream
    # in mmengine#1670, unreleased). Only load checkpoints you trust.
    return torch.load(filename, map_location=map_location, weights_only=False)


def _load_from_local(filename, map_location=None):
    import os.path as osp

    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return _torch_load_full(filename, map_location=map_location)


def patch_checkpoint_loading() -> bool:
    """Make mmengine's local checkpoint loader work under torch >= 2.6.

    Returns True when the loader was replaced.
    """
    major, minor = (int(v) for v in torch.__version__.split('.')[:2])
    if (major, minor) < (2, 6):
        return False
    CheckpointLoader.register_scheme(prefixes='', force=True)(_load_from_local)
    return True


_original_init_dist_pytorch = dist_utils._init_dist_pytorch


def _init_dist_pytorch_cpu(backend, init_backend='torch', **kwargs):
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
    """Let ``launcher='pytorch'`` runs work on machines without CUDA."""
    dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu
    init = MMDistributedDataParallel.__init__
    if not getattr(init, '_sfseg_cpu_safe', False):
        MMDistributedDataParallel.__init__ = _cpu_safe_ddp_init(init)
