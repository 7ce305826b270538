"""Convert official SFNet / SFNet-Lite checkpoints (lxtGH/SFSegNets).

Whole models (``--arch auto`` detects the family from the keys)::

    python tools/model_converters/sfsegnets2sfseg.py \\
        official.pth sfseg.pth [--arch sfnet_r18] [--force]

ImageNet backbones (the official ``pretrained_models/*.pth``), written with
backbone-level keys for ``init_cfg=dict(type='Pretrained', ...)``::

    python tools/model_converters/sfsegnets2sfseg.py \\
        resnet18-deep-inplane128.pth r18d.pth --backbone resnet18_deep

Every key is mapped (``module.`` stripped; STDC aliases, the STDC ImageNet
classifier and the parameters SFNet-Lite builds but never runs dropped,
each by its exact official name, so anything else under those prefixes is
reported as unknown) and the result is checked against the sfseg model
built from the matching config: unknown, missing or mis-shaped keys are
reported by name and nothing is written. The input is read with
``weights_only=True`` and sfseg's allowlist (``sfseg.utils.checkpoint``;
``SFSEG_TRUST_CHECKPOINTS=1`` for a trusted file that needs more). The
output holds only tensors and plain values and keeps
``meta.dataset_meta`` (class names and palette) so ``init_model`` and
``MMSegInferencer`` show class names.
"""

import argparse
import os
import os.path as osp
import re
import sys
import tempfile

import torch

from sfseg.utils.checkpoint import (
    UntrustedCheckpointError,
    load_checkpoint_file,
)

HERE = osp.dirname(osp.abspath(__file__))
CONFIG_ROOT = osp.join(HERE, '..', '..', 'configs')

_CITY = '8xb2-56k_cityscapes-1024x1024.py'
_LITE = '8xb2-186k_cityscapes-1024x1024.py'
FAMILIES = {
    'sfnet_r18': f'sfnet/sfnet_r18-d32_{_CITY}',
    'sfnet_r18_dsn': f'sfnet/sfnet-dsn_r18-d32_{_CITY}',
    'sfnet_r50': f'sfnet/sfnet_r50-d32_{_CITY}',
    'sfnet_r101': f'sfnet/sfnet_r101-d32_{_CITY}',
    'sfnet_df1': f'sfnet/sfnet_df1_{_CITY}',
    'sfnet_df1_dsn': f'sfnet/sfnet-dsn_df1_{_CITY}',
    'sfnet_df2': f'sfnet/sfnet_df2_{_CITY}',
    'sfnet_df2_dsn': f'sfnet/sfnet-dsn_df2_{_CITY}',
    'sfnet_stdc1': f'sfnet/sfnet_stdc1_{_CITY}',
    'sfnet_stdc2': f'sfnet/sfnet_stdc2_{_CITY}',
    'sfnet_lite_r18': f'sfnet_lite/sfnet-lite_r18-d32_{_LITE}',
    'sfnet_lite_stdc1': f'sfnet_lite/sfnet-lite_stdc1_{_LITE}',
    'sfnet_lite_stdc2': f'sfnet_lite/sfnet-lite_stdc2_{_LITE}',
}
# ImageNet backbone -> the model family whose config defines that backbone.
BACKBONES = {
    'resnet18_deep': 'sfnet_r18',
    'resnet50_deep': 'sfnet_r50',
    'resnet101_deep': 'sfnet_r101',
    'stdc1': 'sfnet_stdc1',
    'stdc2': 'sfnet_stdc2',
    'dfnet1': 'sfnet_df1',
    'dfnet2': 'sfnet_df2',
}
STDC_LAYERS = {'stdc1': (2, 2, 2), 'stdc2': (4, 5, 3)}


class ConversionError(Exception):
    """Raised for any input that cannot be converted; nothing is written."""


# ----------------------------------------------------------------- keys
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


def _family_hint(state_dict, family):
    try:
        detected = detect_family(state_dict)
    except ConversionError:
        return ''
    if detected == family:
        return ''
    return (
        f'the checkpoint looks like an official {detected} model, not '
        f'{family} (try --arch {detected} or --arch auto)\n'
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


# ----------------------------------------------------------- checking
def build_reference(family, num_classes=None):
    """State dict of the sfseg model (or backbone) the output must fit."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    import sfseg  # noqa: F401

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, FAMILIES[family]))
    if num_classes is not None:
        cfg.model.decode_head.num_classes = num_classes
    return revert_sync_batchnorm(MODELS.build(cfg.model)), cfg


def check_against(converted, reference, source, what):
    """Raise ConversionError listing unknown/missing/mis-shaped keys."""
    ref = reference.state_dict()
    unknown = sorted(set(converted) - set(ref))
    missing = sorted(set(ref) - set(converted))
    shapes = [
        f'{k}: checkpoint {tuple(converted[k].shape)} vs model '
        f'{tuple(ref[k].shape)}'
        for k in sorted(set(converted) & set(ref))
        if tuple(converted[k].shape) != tuple(ref[k].shape)
    ]
    problems = []
    for title, items in (
        ('unknown keys', unknown),
        ('missing keys', missing),
        ('shape mismatches', shapes),
    ):
        if items:
            shown = '\n    '.join(items[:20])
            more = (
                f'\n    ... and {len(items) - 20} more'
                if len(items) > 20
                else ''
            )
            problems.append(f'  {len(items)} {title}:\n    {shown}{more}')
    if problems:
        raise ConversionError(
            f'{source} does not fit {what}:\n' + '\n'.join(problems)
        )


def dataset_meta(num_classes):
    if num_classes == 19:
        from mmseg.datasets import CityscapesDataset

        meta = CityscapesDataset.METAINFO
        return dict(
            classes=list(meta['classes']),
            palette=[list(c) for c in meta['palette']],
        )
    return None


# ------------------------------------------------------------------ io
def load_official(path):
    if not osp.isfile(path):
        raise ConversionError(f'input not found: {path}')
    try:
        ckpt = load_checkpoint_file(path, map_location='cpu')
    except UntrustedCheckpointError as err:
        raise ConversionError(str(err)) from None
    except Exception as err:  # truncated / not a torch file
        raise ConversionError(
            f'cannot read {path} as a PyTorch checkpoint '
            f'({type(err).__name__}: {err})'
        ) from err
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if (
        not isinstance(state, dict)
        or not state
        or not all(torch.is_tensor(v) for v in state.values())
    ):
        raise ConversionError(
            f'{path} holds no state_dict of tensors (top-level type '
            f'{type(ckpt).__name__})'
        )
    state = {
        (k[len('module.') :] if k.startswith('module.') else k): v
        for k, v in state.items()
    }
    # numpy scalars (the official mean_iu) become Python numbers, so the
    # output holds only tensors and plain values.
    extra = {
        k: ckpt[k].item() if hasattr(ckpt[k], 'item') else ckpt[k]
        for k in ('epoch', 'mean_iu', 'command')
        if isinstance(ckpt, dict) and k in ckpt
    }
    return state, extra


def save_atomic(obj, path, force):
    if osp.exists(path) and not force:
        raise ConversionError(f'{path} exists; pass --force to overwrite it')
    out_dir = osp.dirname(osp.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix='.tmp')
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def convert(src, dst, arch='auto', backbone=None, force=False):
    """Convert ``src`` into ``dst``; return a short report dict."""
    if osp.abspath(src) == osp.abspath(dst):
        raise ConversionError('output must differ from the input file')
    if osp.exists(dst) and not force:
        raise ConversionError(f'{dst} exists; pass --force to overwrite it')
    state, extra = load_official(src)
    if backbone is not None:
        name = detect_backbone(state) if backbone == 'auto' else backbone
        if name not in BACKBONES:
            raise ConversionError(
                f'unknown backbone {name!r}; choose from {sorted(BACKBONES)}'
            )
        family = BACKBONES[name]
        out = {}
        dropped = []
        for key, value in state.items():
            new = map_backbone_key(key, family, state)
            if new is None:
                dropped.append(key)
            else:
                out[new] = value
        model, _ = build_reference(family)
        check_against(out, model.backbone, src, f'the sfseg {name} backbone')
        save_atomic(
            dict(
                state_dict=out,
                meta=dict(
                    sfseg_source=osp.basename(src), official_backbone=name
                ),
            ),
            dst,
            force,
        )
        return dict(family=name, kept=len(out), dropped=len(dropped))
    family = detect_family(state) if arch == 'auto' else arch
    if family not in FAMILIES:
        raise ConversionError(
            f'unknown arch {family!r}; choose from {sorted(FAMILIES)}'
        )
    classifier = state.get('head.conv_last.1.weight')
    num_classes = classifier.shape[0] if classifier is not None else None
    out, dropped = convert_state_dict(state, family)
    model, _ = build_reference(family, num_classes)
    try:
        check_against(
            out, model, src, f'the sfseg {family} model ({FAMILIES[family]})'
        )
    except ConversionError as err:
        hint = _family_hint(state, family)
        raise ConversionError(f'{hint}{err}') from None
    meta = dict(
        sfseg_source=osp.basename(src),
        official_family=family,
        config=FAMILIES[family],
        **extra,
    )
    dmeta = dataset_meta(num_classes)
    if dmeta is not None:
        meta['dataset_meta'] = dmeta
    save_atomic(dict(state_dict=out, meta=meta), dst, force)
    return dict(
        family=family,
        kept=len(out),
        dropped=len(dropped),
        num_classes=num_classes,
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='output sfseg checkpoint')
    parser.add_argument(
        '--arch',
        default='auto',
        choices=['auto'] + sorted(FAMILIES),
        help='official model family (default: detect)',
    )
    parser.add_argument(
        '--backbone',
        nargs='?',
        const='auto',
        choices=['auto'] + sorted(BACKBONES),
        help='convert an ImageNet backbone instead',
    )
    parser.add_argument(
        '--force', action='store_true', help='overwrite an existing output'
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        report = convert(
            args.src, args.dst, args.arch, args.backbone, args.force
        )
    except ConversionError as err:
        sys.exit(f'error: {err}\nnothing was written.')
    print(
        f'converted {args.src} ({report["family"]}): {report["kept"]} '
        f'tensors written to {args.dst}, {report["dropped"]} unused '
        'official tensors dropped'
    )


if __name__ == '__main__':
    main()
