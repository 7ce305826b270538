"""Official SFSegNets key names -> sfseg key names.

The official models (lxtGH/SFSegNets) and their ImageNet backbones use the
layouts of the official ``network/*.py`` files; sfseg's modules use
mmseg's. These maps are used by the ImageNet initialiser
(:mod:`sfseg.models.official.imagenet_init`) and by
``tools/model_converters/sfsegnets2sfseg.py``, which read the files with
:func:`read_official_checkpoint`. Only the exact names of tensors the
official models never run are dropped, so anything else keeps a key that
a strict check reports by name.
"""

import re

import torch

from sfseg.utils.checkpoint import (
    CheckpointFileError,
    UntrustedCheckpointError,
    check_not_a_page,
    load_checkpoint_file,
)
from sfseg.utils.user_errors import SFSegUserError

from .families import FAMILIES

# ImageNet backbone -> the first model family whose config defines it
BACKBONES = {}
for _family in FAMILIES.values():
    BACKBONES.setdefault(_family.imagenet, _family.name)
STDC_LAYERS = {'stdc1': (2, 2, 2), 'stdc2': (4, 5, 3)}


class ConversionError(SFSegUserError, ValueError):
    """Official keys or files that cannot be used; nothing is written."""


def read_official_checkpoint(path, error=ConversionError):
    """``(checkpoint, tensors)`` of an official file (the ``state_dict``
    wrapper and DataParallel's ``module.`` prefixes removed), read with the
    weights-only allowlist; ``error`` (a :class:`ConversionError`) names
    the file for anything else."""
    try:
        check_not_a_page(path)
    except CheckpointFileError as err:  # its message names the file
        raise error(str(err)) from None
    with open(path, 'rb') as f:
        head = f.read(4)
    # torch.save writes a zip archive, or (before torch 1.6) a pickle
    if not (head.startswith(b'PK') or head[:1] == b'\x80'):
        raise error(
            f'cannot read {path} as a PyTorch checkpoint: neither a zip '
            f'archive nor a pickle (it starts with {head!r}); download it '
            'again'
        )
    try:
        ckpt = load_checkpoint_file(path, map_location='cpu')
    except UntrustedCheckpointError as err:  # its message names the file
        raise error(str(err)) from None
    except Exception as err:  # truncated, ...
        raise error(
            f'cannot read {path} as a PyTorch checkpoint '
            f'({type(err).__name__}: {err})'
        ) from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if (
        not isinstance(state, dict)
        or not state
        or not all(torch.is_tensor(v) for v in state.values())
    ):
        raise error(
            f'{path} holds no state_dict of tensors (top level: '
            f'{type(ckpt).__name__})'
        )
    return ckpt, {
        (k[len('module.') :] if k.startswith('module.') else k): v
        for k, v in state.items()
    }


def stdc_stage_of(index, layers):
    """Official ``features.N`` index -> mmseg ``stages`` path."""
    if index < 2:
        return f'stages.{index}'
    index -= 2
    for stage, count in enumerate(layers, start=2):
        if index < count:
            return f'stages.{stage}.{index}'
        index -= count
    raise ConversionError(f'STDC feature index {index} is out of range')


def map_stdc_key(key, layers):
    """``features.N.<...>`` (official STDC) -> sfseg ``stages`` key."""
    m = re.match(r'features\.(\d+)\.(.*)$', key)
    if m is None:
        return key  # not a feature key: reported as unknown later
    prefix = stdc_stage_of(int(m.group(1)), layers)
    rest = m.group(2)
    rest = re.sub(r'^conv_list\.(\d+)\.', r'layers.\1.', rest)
    rest = re.sub(r'^avd_layer\.0\.', 'downsample.conv.', rest)
    rest = re.sub(r'^avd_layer\.1\.', 'downsample.bn.', rest)
    return f'{prefix}.{rest}'


_BN = r'(weight|bias|running_mean|running_var|num_batches_tracked)'
# The STDC ImageNet classifier (conv_last ConvX, BatchNorm1d, two linears),
# unused by segmentation; exact names only.
STDC_CLASSIFIER = re.compile(
    rf'(conv_last\.conv\.weight|conv_last\.bn\.{_BN}|fc\.weight'
    rf'|bn\.{_BN}|linear\.weight)'
)
# ``x2 .. x32`` are Sequential views of ``features`` slices that keep the
# feature index as key (wrapped once more, ``x2.0.<i>``, in the
# segmentation model).
STDC_ALIAS = re.compile(r'x(?:2|4|8|16|32)\.(\d.*)')
CLASSIFIER = re.compile(r'fc\.(weight|bias)')
RESNET_STEM = {'0': '0', '1': '1', '3': '3', '4': '4', '6': '6'}


def is_stdc_alias(key, state_dict, prefix=''):
    """Whether ``key`` repeats a ``features.<i>`` tensor of ``state_dict``
    (same index, name and shape)."""
    m = STDC_ALIAS.fullmatch(key)
    if m is None:
        return False
    rest = m.group(1)
    value = state_dict[prefix + key]
    for name in (rest, rest[2:] if rest.startswith('0.') else None):
        target = state_dict.get(f'{prefix}features.{name}')
        if name and target is not None and target.shape == value.shape:
            return True
    return False


def map_backbone_key(key, family, state_dict, prefix=''):
    """Official backbone key (no ``backbone.``/``layer0`` wrapper removed)
    -> sfseg backbone-level key, or None to drop it.

    Only the exact official names of unused tensors are dropped; STDC
    aliases only when they repeat a ``features`` tensor of ``state_dict``
    (the whole official dict, keys under ``prefix``).
    Anything else keeps a key the reference check reports as unknown.
    """
    if 'stdc' in family:
        if STDC_CLASSIFIER.fullmatch(key):
            return None
        if is_stdc_alias(key, state_dict, prefix):
            return None
        return map_stdc_key(
            key, STDC_LAYERS['stdc2' if '2' in family else 'stdc1']
        )
    if 'df' in family:
        return None if CLASSIFIER.fullmatch(key) else key
    # ResNet-D: ImageNet layout (conv1.N, bn1) or segmentation layout
    # (layer0.0.N, layer0.1).
    m = re.match(r'(?:conv1|layer0\.0)\.(\d)\.(.*)$', key)
    if m and m.group(1) in RESNET_STEM:
        return f'stem.{RESNET_STEM[m.group(1)]}.{m.group(2)}'
    m = re.match(r'(?:bn1|layer0\.1)\.(.*)$', key)
    if m:
        return f'stem.7.{m.group(1)}'
    if CLASSIFIER.fullmatch(key):
        return None
    return key


# Built but never run by the official SFNet-Lite forward: the single dsn
# Sequential (conv with bias, BN, ReLU, Dropout2d, classifier) and, for
# R18, the stride-32 lateral fpn_in.2 (conv with bias, BN).
LITE_UNUSED = re.compile(rf'dsn\.(0\.(weight|bias)|1\.{_BN}|4\.(weight|bias))')
LITE_R18_UNUSED = re.compile(rf'fpn_in\.2\.(0\.(weight|bias)|1\.{_BN})')

HEAD_RULES = [
    # (official regex, sfseg replacement); first match wins.
    (r'ppm\.stages\.(\d+)\.1\.(.*)', r'fpn.context.stages.\1.1.conv.\2'),
    (r'ppm\.stages\.(\d+)\.2\.(.*)', r'fpn.context.stages.\1.1.bn.\2'),
    (r'ppm\.bottleneck\.0\.(.*)', r'fpn.context.bottleneck.0.conv.\1'),
    (r'ppm\.bottleneck\.1\.(.*)', r'fpn.context.bottleneck.0.bn.\1'),
    (r'fpn_in\.(\d+)\.0\.(.*)', r'fpn.fpn_in.\1.conv.\2'),
    (r'fpn_in\.(\d+)\.1\.(.*)', r'fpn.fpn_in.\1.bn.\2'),
    (r'fpn_out\.(\d+)\.0\.0\.(.*)', r'fpn.fpn_out.\1.conv.\2'),
    (r'fpn_out\.(\d+)\.0\.1\.(.*)', r'fpn.fpn_out.\1.bn.\2'),
    (r'fpn_out_align\.(\d+)\.(.*)', r'fpn.fpn_out_align.\1.\2'),
    (r'flow_align_module\.(.*)', r'fpn.flow_align_module.\1'),
    (r'conv_last\.0\.0\.(.*)', r'conv_last.conv.\1'),
    (r'conv_last\.0\.1\.(.*)', r'conv_last.bn.\1'),
    (r'conv_last\.1\.(.*)', r'conv_seg.\1'),
    (r'dsn\.(\d+)\.0\.(.*)', r'dsn.\1.conv.conv.\2'),
    (r'dsn\.(\d+)\.1\.(.*)', r'dsn.\1.conv.bn.\2'),
    (r'dsn\.(\d+)\.4\.(.*)', r'dsn.\1.conv_seg.\2'),
]


def map_head_key(key, family):
    """Official ``head.<...>`` suffix -> sfseg ``decode_head`` suffix."""
    if family.startswith('sfnet_lite'):
        if LITE_UNUSED.fullmatch(key):
            return None
        if family == 'sfnet_lite_r18' and LITE_R18_UNUSED.fullmatch(key):
            return None
    for pattern, repl in HEAD_RULES:
        if re.fullmatch(pattern, key):
            return re.sub(pattern, repl, key)
    return 'head.' + key  # unmapped: reported as unknown


def convert_state_dict(state_dict, family):
    """Official model state_dict -> (sfseg state_dict, dropped keys)."""
    out, dropped = {}, []
    for key, value in state_dict.items():
        if key.startswith('head.'):
            new = map_head_key(key[len('head.') :], family)
            new = None if new is None else f'decode_head.{new}'
        else:
            inner = (
                key[len('backbone.') :] if key.startswith('backbone.') else key
            )
            prefix = 'backbone.' if key.startswith('backbone.') else ''
            new = map_backbone_key(inner, family, state_dict, prefix)
            new = None if new is None else f'backbone.{new}'
        if new is None:
            dropped.append(key)
        else:
            out[new] = value
    return out, dropped


def detect_family(state_dict):
    """Guess the official model family from its keys."""
    keys = set(state_dict)
    lite = any(k.startswith('head.flow_align_module.') for k in keys)
    dsn = 'head.dsn.0.0.weight' in keys
    if any(k.startswith('backbone.features.') for k in keys):
        version = (
            '2'
            if any(k.startswith('backbone.features.13.') for k in keys)
            else '1'
        )
        return f'sfnet_lite_stdc{version}' if lite else f'sfnet_stdc{version}'
    if 'backbone.stage1.0.weight' in keys:
        version = (
            '2'
            if any(k.startswith('backbone.stage2_1.') for k in keys)
            else '1'
        )
        return f'sfnet_df{version}' + ('_dsn' if dsn else '')
    if any(k.startswith('layer0.') for k in keys):
        if lite:
            return 'sfnet_lite_r18'
        if 'layer1.0.conv3.weight' not in keys:
            return 'sfnet_r18' + ('_dsn' if dsn else '')
        return (
            'sfnet_r101' if 'layer3.22.conv1.weight' in keys else 'sfnet_r50'
        )
    raise ConversionError(
        'cannot recognise the checkpoint: no layer0.* (ResNet), '
        'backbone.features.* (STDC) or backbone.stage1.* (DFNet) keys'
    )


def detect_backbone(state_dict):
    keys = set(state_dict)
    if any(k.startswith('features.') for k in keys):
        return (
            'stdc2'
            if any(k.startswith('features.13.') for k in keys)
            else 'stdc1'
        )
    if 'stage1.0.weight' in keys:
        return (
            'dfnet2'
            if any(k.startswith('stage2_1.') for k in keys)
            else 'dfnet1'
        )
    if 'conv1.0.weight' in keys:
        if 'layer1.0.conv3.weight' not in keys:
            return 'resnet18_deep'
        return (
            'resnet101_deep'
            if 'layer3.22.conv1.weight' in keys
            else 'resnet50_deep'
        )
    raise ConversionError(
        'cannot recognise the backbone checkpoint: no conv1.* (ResNet-D), '
        'features.* (STDC) or stage1.* (DFNet) keys'
    )
