"""Shims for the pinned OpenMMLab stack on recent PyTorch.

Each shim states the upstream problem it works around so it can be dropped
once the fix is released. Checkpoint loading under torch >= 2.6 lives in
``checkpoint.py``.
"""

import functools
import warnings

import mmengine.dist.utils as dist_utils
import torch
from mmengine.model import MMDistributedDataParallel

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
