"""Inference-time model preparation (no effect on outputs beyond 1e-4)."""

import torch
from mmcv.cnn import fuse_conv_bn
from mmengine.model import revert_sync_batchnorm


def drop_training_branches(model):
    """Delete modules that only run in training (SFHead's deep supervision).

    Returns the number of parameters removed.
    """
    removed = 0
    for module in model.modules():
        if getattr(module, 'with_dsn', False) and hasattr(module, 'dsn'):
            removed += sum(p.numel() for p in module.dsn.parameters())
            del module.dsn
            module.with_dsn = False
    return removed


def prepare_for_inference(
    model, fuse_bn=True, channels_last=False, drop_training=True
):
    """Return ``model`` ready for fast eval-mode inference (in place).

    - SyncBN -> BN and ``eval()``;
    - ``drop_training``: remove deep-supervision branches;
    - ``fuse_bn``: fold every BN into the conv before it (mmcv's
      ``fuse_conv_bn``; the official model has none folded);
    - ``channels_last``: NHWC weights, which oneDNN convolutions run faster
      on CPU (feed inputs with ``to(memory_format=torch.channels_last)``).
    """
    model = revert_sync_batchnorm(model)
    model.eval()
    if drop_training:
        drop_training_branches(model)
    if fuse_bn:
        fuse_conv_bn(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model
