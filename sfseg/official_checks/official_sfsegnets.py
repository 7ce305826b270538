"""Build the official SFNet models from a local lxtGH/SFSegNets clone.

Used by ``check_official_equivalence.py`` and ``benchmark.py`` to compare
sfseg with the official implementation in one process. Nothing of the
official code is part of sfseg: pass the path of your own clone
(``--official-root``). Run-time adaptations only, no file is edited:

1. a stand-in ``apex`` module (``amp.float_function`` = identity,
   ``parallel.SyncBatchNorm`` = BatchNorm2d), since apex is CUDA-only;
2. ``cfg.MODEL.BNFUNC = nn.BatchNorm2d`` (set by the official train.py);
3. ImageNet weight loading disabled (ResNet-D, DFNet, STDC constructors);
4. ``network.sfnet_resnet.UperNetAlignHeadAddition`` (imported by
   ``sfnet_stdcnet.py`` but missing upstream) replaced by a placeholder;
5. SFNet-R18 + dsn rebuilt as ``AlignNetResNet(..., fpn_dsn=True)``, as its
   constructor is missing upstream;
6. ``torch.load`` refuses to run while a model is built, so a missed
   weight-loading path fails loudly.
"""

import contextlib
import functools
import os.path as osp
import sys
import types

import torch
import torch.nn as nn

from sfseg.models.official import FAMILIES

_MODULES = {}


def _install_apex_standin():
    if 'apex' in sys.modules:
        return
    apex = types.ModuleType('apex')
    amp = types.ModuleType('apex.amp')
    amp.float_function = lambda fn: fn
    amp.half_function = lambda fn: fn
    parallel = types.ModuleType('apex.parallel')
    parallel.SyncBatchNorm = nn.BatchNorm2d
    parallel.DistributedDataParallel = nn.Module
    parallel.convert_syncbn_model = lambda model: model
    apex.amp, apex.parallel = amp, parallel
    sys.modules.update(
        {'apex': apex, 'apex.amp': amp, 'apex.parallel': parallel}
    )


def _force_kwargs(fn, **forced):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        kwargs.update(forced)
        return fn(*args, **kwargs)

    return wrapper


def _default_to_none(fn, name):
    code = fn.__code__
    names = code.co_varnames[: code.co_argcount]
    defaults = list(fn.__defaults__)
    defaults[names.index(name) - (len(names) - len(defaults))] = None
    fn.__defaults__ = tuple(defaults)


class _MissingHead(nn.Module):
    def __init__(self, *args, **kwargs):
        raise RuntimeError('UperNetAlignHeadAddition is missing upstream')


def import_official(root):
    """Import the official ``network`` package from ``root`` (once)."""
    if _MODULES:
        return _MODULES
    if not osp.isfile(osp.join(root, 'network', 'sfnet_resnet.py')):
        raise FileNotFoundError(
            f'{root} is not an lxtGH/SFSegNets checkout '
            '(network/sfnet_resnet.py not found)'
        )
    _install_apex_standin()
    sys.path.insert(0, osp.abspath(root))
    from config import cfg

    cfg.MODEL.BNFUNC = nn.BatchNorm2d
    import network.dfnet as dfnet
    import network.resnet_d as resnet_d
    import network.stdcnet as stdcnet

    for name in ('resnet18', 'resnet50', 'resnet101'):
        setattr(
            resnet_d,
            name,
            _force_kwargs(getattr(resnet_d, name), pretrained=False),
        )
    for name in ('DFNetv1', 'DFNetv2'):
        setattr(
            dfnet, name, _force_kwargs(getattr(dfnet, name), pretrained=False)
        )
    for name in ('STDCNet813', 'STDCNet1446'):
        _default_to_none(getattr(stdcnet, name).__init__, 'pretrain_model')
    import network.sfnet_resnet as sfnet_resnet

    if not hasattr(sfnet_resnet, 'UperNetAlignHeadAddition'):
        sfnet_resnet.UperNetAlignHeadAddition = _MissingHead
    import network.sfnet_dfnet as sfnet_dfnet
    import network.sfnet_stdcnet as sfnet_stdcnet

    _MODULES.update(
        {
            'network.sfnet_resnet': sfnet_resnet,
            'network.sfnet_dfnet': sfnet_dfnet,
            'network.sfnet_stdcnet': sfnet_stdcnet,
        }
    )
    return _MODULES


@contextlib.contextmanager
def _no_weight_files():
    original = torch.load

    def refuse(*args, **kwargs):
        raise RuntimeError('an official constructor tried to load weights')

    torch.load = refuse
    try:
        yield
    finally:
        torch.load = original


def build_official(root, family, num_classes=19):
    """The official model of ``family`` with random weights (train mode)."""
    modules = import_official(root)
    entry = FAMILIES[family]
    module, constructor = modules[entry.module], entry.constructor
    with _no_weight_files():
        if constructor is None:  # SFNet-R18 + dsn
            return module.AlignNetResNet(
                num_classes,
                trunk='resnet-18-deep',
                criterion=None,
                variant='D',
                skip='m1',
                fpn_dsn=True,
            )
        return getattr(module, constructor)(
            num_classes=num_classes, criterion=None
        )


@torch.no_grad()
def randomise(model, seed=0):
    """Non-trivial BN statistics and conv biases, so nothing is identity.

    The last BN of every residual branch gets a small scale (as trained
    ResNets have), otherwise random residual branches add up block after
    block and SFNet-R101's logits reach ~1e4, where absolute differences
    mean nothing.
    """
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.copy_(torch.randn(c, generator=gen) * 0.2)
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
            m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
        elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
            m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
    for m in model.modules():
        last = getattr(m, 'bn3', None) or (
            getattr(m, 'bn2', None) if hasattr(m, 'conv2') else None
        )
        if isinstance(last, nn.BatchNorm2d) and hasattr(m, 'conv1'):
            last.weight.mul_(0.1)
    return model


def official_logits(model, x):
    """Official eval forward: full-resolution logits (N x K x H x W)."""
    out = model(x)
    return out[0] if isinstance(out, (tuple, list)) else out
