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
