"""Every switch and threshold of the inference acceleration, in one place.

:func:`~sfseg.acceleration.accelerate` takes one frozen
:class:`AccelerationOptions` and attaches the replacements it asks for;
each replacement module keeps those options. :func:`override` changes
them for the calls made inside a ``with`` block (e.g. to profile a model
with and without a replacement, or to run a call without kernel timing);
the change is held in a context variable and undone on leaving the block,
even on an exception, and other threads never see it.
"""

import dataclasses
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Optional

import torch


@dataclasses.dataclass(frozen=True)
class AccelerationOptions:
    """What :func:`~sfseg.acceleration.accelerate` does to a model.

    Preparation (once, in place):
        drop_training (bool): delete training-only branches (deep
            supervision).
        fold_bn (bool): fold BN into the conv before it.
        channels_last (bool): NHWC weights (oneDNN runs them faster on
            CPU; feed channels-last inputs).

    Replacements (same values within 1e-4 of the largest logit; each
    steps aside under autograd, autocast where noted, and graph capture):
        nnpack (bool): stride-1 3x3 convs time NNPACK's FFT / Winograd
            kernels against oneDNN per input shape and keep the faster
            (:class:`~sfseg.acceleration.NNPACKConv2d`; fp32 only).
        low_res_fusion (bool): the heads' fusion conv computes each coarse
            level's share at that level's size
            (:class:`~sfseg.acceleration.LowResFusion`; fp32 only).
        gather_warp (bool): flow warps of channels-last CPU tensors sample
            as one gather (:func:`~sfseg.acceleration.gather_warp`).
        grid_cache (bool): flow warps reuse their identity grid per size.
        separable_max_pool (bool): 3x3 / stride-2 max pooling of NCHW
            tensors as separable strided maxima.
        compile (bool): the network (backbone, neck, head) compiled with
            ``torch.compile`` after the steps above, one graph per input
            size, with Inductor's freezing on CPU
            (:class:`~sfseg.acceleration.CompiledNetwork`; the first call
            at a size compiles, which takes tens of seconds).

    Thresholds:
        kernel_timing (bool): NNPACK convolutions time kernels for input
            shapes they have not seen (``False``: oneDNN, nothing kept).
        nnpack_repeats (int): timed runs per kernel.
        nnpack_min_speedup (float): NNPACK must take less than this
            fraction of oneDNN's time.
        nnpack_min_channels_last_macs (float): channels-last convolutions
            below this many multiply-adds keep oneDNN untimed (the NCHW
            copies NNPACK needs cost more than it saves).
        nnpack_max_drift (float): the layout tuner keeps NNPACK for an
            input shape only while its logits stay within this fraction
            of the largest logit of the same call with oneDNN only.
        low_res_min_area_ratio (float): levels at least this many times
            smaller in area than the finest go the low-resolution way.
        grid_cache_size (int): identity grids kept per warp module.
        compile_sizes (int): input sizes compiled (later sizes run the
            uncompiled network); at most dynamo's ``recompile_limit``.
        compile_mode (str, optional): ``torch.compile``'s ``mode`` on a
            GPU (``'reduce-overhead'``: CUDA graphs; ``'max-autotune'``);
            a CPU compiles with ``freezing`` instead.
    """

    drop_training: bool = True
    fold_bn: bool = True
    channels_last: bool = False
    nnpack: bool = False
    low_res_fusion: bool = True
    gather_warp: bool = True
    grid_cache: bool = True
    separable_max_pool: bool = True
    kernel_timing: bool = True
    nnpack_repeats: int = 1
    nnpack_min_speedup: float = 0.95
    nnpack_min_channels_last_macs: float = 2e9
    nnpack_max_drift: float = 2e-5
    low_res_min_area_ratio: float = 4
    grid_cache_size: int = 16
    compile: bool = False
    compile_sizes: int = 8
    compile_mode: Optional[str] = None


_FIELDS = frozenset(f.name for f in dataclasses.fields(AccelerationOptions))
_OVERRIDES = ContextVar('sfseg_acceleration_overrides', default=None)


def in_effect(options):
    """``options`` with the changes of the enclosing :func:`override`
    blocks (``options`` itself outside any, and under ``torch.compile``,
    which cannot trace a context variable: the replacements step aside
    there anyway)."""
    if torch.compiler.is_compiling():
        return options
    changes = _OVERRIDES.get()
    if not changes:
        return options
    return dataclasses.replace(options, **changes)


@contextmanager
def override(**changes):
    """Change acceleration options inside the block, e.g.
    ``with override(gather_warp=False, low_res_fusion=False):`` runs the
    paper's paths in an accelerated model. Blocks nest."""
    unknown = sorted(set(changes) - _FIELDS)
    if unknown:
        raise TypeError(
            f'unknown acceleration option(s) {unknown}; options are '
            f'{sorted(_FIELDS)}'
        )
    merged = dict(_OVERRIDES.get() or {}, **changes)
    token = _OVERRIDES.set(MappingProxyType(merged))
    try:
        yield
    finally:
        _OVERRIDES.reset(token)
