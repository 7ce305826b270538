"""Official SFNet / SFNet-Lite checkpoints (lxtGH/SFSegNets) to sfseg.

:func:`convert` reads an official whole-model or ImageNet-backbone file
with the weights-only allowlist loader, maps every key
(:mod:`sfseg.models.official.keys`), checks the result against the
sfseg model built from the matching config (unknown, missing or
mis-shaped keys are named and nothing is written) and saves it
atomically with ``meta.dataset_meta``. ``sfsegnets2sfseg.py`` is its
command line.
"""

import os
import os.path as osp
import tempfile

import torch

from sfseg.utils import resolve_config

from .families import FAMILIES
from .keys import (
    BACKBONES,
    ConversionError,
    convert_state_dict,
    detect_backbone,
    detect_family,
    map_backbone_key,
    read_official_checkpoint,
)

__all__ = [
    'BACKBONES',
    'FAMILIES',
    'ConversionError',
    'build_reference',
    'convert',
    'convert_state_dict',
    'detect_backbone',
    'detect_family',
]


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


# ----------------------------------------------------------- checking
def build_reference(family, num_classes=None):
    """State dict of the sfseg model (or backbone) the output must fit."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(resolve_config(FAMILIES[family].config))
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
def training_info(checkpoint):
    """The official file's training record (epoch, mean IoU, command)."""
    # numpy scalars (the official mean_iu) become Python numbers, so the
    # output holds only tensors and plain values.
    info = {}
    for key in ('epoch', 'mean_iu', 'command'):
        if isinstance(checkpoint, dict) and key in checkpoint:
            value = checkpoint[key]
            info[key] = value.item() if hasattr(value, 'item') else value
    return info


def to_sfseg(checkpoint, state, family, source):
    """``(sfseg checkpoint, dropped keys)`` of an official file already
    read (``state``: its tensors without ``module.``): the mapped
    tensors and a ``meta`` naming the family, its config, the source and
    the official training record."""
    classifier = state.get('head.conv_last.1.weight')
    num_classes = classifier.shape[0] if classifier is not None else None
    out, dropped = convert_state_dict(state, family)
    meta = dict(
        sfseg_source=osp.basename(str(source)),
        official_family=family,
        config=FAMILIES[family].config,
        **training_info(checkpoint),
    )
    dmeta = dataset_meta(num_classes)
    if dmeta is not None:
        meta['dataset_meta'] = dmeta
    return dict(state_dict=out, meta=meta), dropped


def load_official(path):
    if not osp.isfile(path):
        raise ConversionError(f'input not found: {path}')
    return read_official_checkpoint(path)


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
    ckpt, state = load_official(src)
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
    converted, dropped = to_sfseg(ckpt, state, family, src)
    out = converted['state_dict']
    classifier = out.get('decode_head.conv_seg.weight')
    num_classes = classifier.shape[0] if classifier is not None else None
    model, _ = build_reference(family, num_classes)
    try:
        check_against(
            out,
            model,
            src,
            f'the sfseg {family} model ({FAMILIES[family].config})',
        )
    except ConversionError as err:
        hint = _family_hint(state, family)
        raise ConversionError(f'{hint}{err}') from None
    save_atomic(converted, dst, force)
    return dict(
        family=family,
        kept=len(out),
        dropped=len(dropped),
        num_classes=num_classes,
    )
