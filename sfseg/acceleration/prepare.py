"""The entry point: prepare a model for fast inference with one options
object (no effect on outputs beyond 1e-4 of the largest logit)."""

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import revert_sync_batchnorm
from mmseg.models.backbones.resnet import BasicBlock, Bottleneck
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .compiled_network import use_compiled_network
from .flow_warp import use_fast_flow_warp
from .low_res_fusion import use_low_res_fusion
from .nnpack_conv import use_nnpack_conv
from .options import AccelerationOptions
from .separable_max_pool import use_separable_max_pool

_BN = nn.modules.batchnorm._BatchNorm


def _foldable(conv, bn):
    return (
        isinstance(conv, nn.Conv2d)
        and isinstance(bn, _BN)
        and conv.out_channels == bn.num_features
        and bn.track_running_stats
    )


def fold_batchnorms(model):
    """Fold BN into the conv feeding it, where the wiring is certain.

    Only three patterns are folded: mmcv ``ConvModule`` with ``conv``
    directly before ``norm``, adjacent conv -> BN in an ``nn.Sequential``,
    and the conv_i -> norm_i pairs of mmseg's ResNet blocks. (mmcv's
    ``fuse_conv_bn`` pairs any BN with the previously *registered* conv,
    which is wrong for modules whose registration order is not their data
    flow, e.g. several mmseg real-time models.) Returns the count folded.
    """
    count = 0
    for module in list(model.modules()):
        if isinstance(module, ConvModule) and module.with_norm:
            order = list(module.order)
            if order.index('norm') == order.index('conv') + 1:
                norm = getattr(module, module.norm_name)
                if _foldable(module.conv, norm):
                    module.conv = fuse_conv_bn_eval(module.conv, norm)
                    setattr(module, module.norm_name, nn.Identity())
                    count += 1
        elif isinstance(module, nn.Sequential):
            names = list(module._modules)
            for a, b in zip(names, names[1:]):
                conv, bn = module._modules[a], module._modules[b]
                if _foldable(conv, bn):
                    module._modules[a] = fuse_conv_bn_eval(conv, bn)
                    module._modules[b] = nn.Identity()
                    count += 1
        elif isinstance(module, (BasicBlock, Bottleneck)):
            for i in (1, 2, 3):
                conv = getattr(module, f'conv{i}', None)
                name = getattr(module, f'norm{i}_name', None)
                if name is not None and _foldable(conv, getattr(module, name)):
                    setattr(
                        module,
                        f'conv{i}',
                        fuse_conv_bn_eval(conv, getattr(module, name)),
                    )
                    setattr(module, name, nn.Identity())
                    count += 1
    return count


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


def accelerate(model, options=None):
    """Return ``model`` ready for fast eval-mode inference (in place).

    SyncBN becomes BN and the model is put in ``eval()``; then, as
    ``options`` (an :class:`AccelerationOptions`, default: its defaults)
    asks: training-only branches are removed, BN is folded into the conv
    before it (:func:`fold_batchnorms`), weights go channels-last, and
    the replacements attach from outside the paper's modules: the heads'
    fusion (:class:`~sfseg.acceleration.LowResFusion`), the flow warps
    (:class:`~sfseg.acceleration.FastFlowWarp`), max pooling
    (:class:`~sfseg.acceleration.SeparableMaxPool2d`) and the 3x3
    convolutions (:class:`~sfseg.acceleration.NNPACKConv2d`); last, the
    network may be compiled (:class:`~sfseg.acceleration.CompiledNetwork`,
    which the replacements step aside for). The options
    are kept as ``model.acceleration``.
    """
    options = options or AccelerationOptions()
    model = revert_sync_batchnorm(model)
    model.eval()
    if options.drop_training:
        drop_training_branches(model)
    if options.fold_bn:
        fold_batchnorms(model)
    if options.channels_last:
        model.to(memory_format=torch.channels_last)
    if options.low_res_fusion:
        use_low_res_fusion(model, options)
    if options.gather_warp or options.grid_cache:
        use_fast_flow_warp(model, options)
    if options.separable_max_pool:
        use_separable_max_pool(model, options)
    if options.nnpack:
        use_nnpack_conv(model, options)
    if options.compile:
        use_compiled_network(model, options)
    model.acceleration = options
    return model
