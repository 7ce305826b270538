"""Official SFSegNets files, read wherever sfseg reads a checkpoint.

A released file (``{'state_dict': {'module.<key>': ...}, 'epoch',
'mean_iu', ...}`` or a bare state dict) is recognised from its keys,
converted in memory by the converter's own key maps
(:func:`sfseg.models.official.convert.to_sfseg`; the file was read with
the weights-only allowlist like any other) and logged in one line. Where
the model is known (the inference API and tools, ``load_from`` and
``mim test`` through :class:`sfseg.engine.hooks.SFOfficialWeightsHook`)
its family is checked first: a file of another family is refused naming
both and the config to use, and an official ImageNet backbone file gets
its own explanation. ``tools/model_converters/sfsegnets2sfseg.py`` still
writes an sfseg file for those who want one.
"""

import torch
from mmengine.logging import print_log

from sfseg.utils import CheckpointMismatchError
from sfseg.utils.checkpoint_formats import (
    CheckpointFormat,
    register_checkpoint_format,
)

from .convert import to_sfseg
from .families import FAMILIES
from .imagenet_init import DEFAULT_DIR, OFFICIAL_FILES
from .keys import ConversionError, detect_backbone, detect_family

_DSN = 'decode_head.dsn.'
_CLASSIFIER = 'head.conv_last.1.weight'
_IMAGENET_DOC = 'docs/training.md#imagenet-initialisation'


def _tensors(checkpoint):
    """The tensors of a loaded file without DataParallel's ``module.``,
    or ``None`` when it holds something else."""
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict) or not state:
        return None
    if not all(torch.is_tensor(v) for v in state.values()):
        return None
    return {
        (k[len('module.') :] if k.startswith('module.') else k): v
        for k, v in state.items()
    }


def official_state(checkpoint):
    """The tensors of an official whole-model file (the official
    classifier ``head.conv_last.1``, no ``decode_head.*``), or ``None``."""
    if not isinstance(checkpoint, dict):
        return None
    state = _tensors(checkpoint)
    if state is None or _CLASSIFIER not in state:
        return None
    if any(k.startswith('decode_head.') for k in state):
        return None
    return state


def model_family(model_state):
    """The official family whose layout an sfseg model's state dict has,
    or ``None`` (an ablation, a baseline or another model)."""
    keys = set(model_state)

    def has(prefix):
        return any(k.startswith(prefix) for k in keys)

    lite = has('decode_head.fpn.flow_align_module.')
    if not (lite or has('decode_head.fpn.fpn_out_align.')):
        return None
    dsn = '_dsn' if has(_DSN) else ''
    if has('backbone.stages.'):
        version = '2' if has('backbone.stages.2.2.') else '1'
        name = f'sfnet_lite_stdc{version}' if lite else f'sfnet_stdc{version}'
        name += dsn
    elif has('backbone.stage1.'):
        version = '2' if has('backbone.stage2_1.') else '1'
        name = ('sfnet_lite_' if lite else 'sfnet_') + f'df{version}{dsn}'
    elif has('backbone.stem.'):
        if 'backbone.layer1.0.conv3.weight' not in keys:
            depth = 'r18'
        elif 'backbone.layer3.22.conv1.weight' in keys:
            depth = 'r101'
        else:
            depth = 'r50'
        name = ('sfnet_lite_' if lite else 'sfnet_') + depth + dsn
    else:
        return None
    return name if name in FAMILIES else None


def _without_dsn(family):
    return family[: -len('_dsn')] if family.endswith('_dsn') else family


def _config_hint(family):
    return f'configs/{FAMILIES[family].config} or another {family} config'


class OfficialSFSegNets(CheckpointFormat):
    """The lxtGH/SFSegNets release layout."""

    def adapt(self, checkpoint, filename):
        state = official_state(checkpoint)
        if state is None:
            return None
        try:
            family = detect_family(state)
        except ConversionError:
            return None  # reported by the strict check, keys named
        converted, dropped = to_sfseg(checkpoint, state, family, filename)
        left = (
            f'; {len(dropped)} tensors the official model never runs left out'
            if dropped
            else ''
        )
        print_log(
            f'{filename or "checkpoint"}: an official SFSegNets {family} '
            f'file, read in memory ({len(converted["state_dict"])} tensors '
            f'in sfseg names{left})',
            logger='current',
        )
        return converted

    def fit(self, checkpoint, model_state, filename):
        meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
        family = (meta or {}).get('official_family')
        if family is None:
            _refuse_imagenet_file(checkpoint, model_state)
            return checkpoint
        built = model_family(model_state)
        if built == family:
            return checkpoint
        if built is not None and built == _without_dsn(family):
            # deep supervision only trains: the model without it runs the
            # official file's every other tensor
            state = checkpoint['state_dict']
            kept = {k: v for k, v in state.items() if not k.startswith(_DSN)}
            print_log(
                f'{filename or "checkpoint"}: its {len(state) - len(kept)} '
                f'deep-supervision tensors ({family}) are not used by this '
                f'{built} model',
                logger='current',
            )
            return dict(checkpoint, state_dict=kept)
        what = (
            f'the config builds {built}'
            if built
            else 'the config builds none of the official families'
        )
        raise CheckpointMismatchError(
            f'an official SFSegNets {family} file, but {what}; use it with '
            f'{_config_hint(family)}'
        )


def _refuse_imagenet_file(checkpoint, model_state):
    """Explain an official ImageNet backbone file given as a model."""
    state = _tensors(checkpoint) if isinstance(checkpoint, dict) else None
    if state is None or set(state) & set(model_state):
        return
    try:
        name = detect_backbone(state)
    except ConversionError:
        return
    raise CheckpointMismatchError(
        f'an official ImageNet {name} backbone file '
        f'({OFFICIAL_FILES[name]}), not a trained segmentation model: '
        f'training reads it from {DEFAULT_DIR}/ ({_IMAGENET_DOC}); to '
        'segment images use a trained checkpoint (the official ones are '
        "listed in the configs' metafiles)"
    )


register_checkpoint_format(OfficialSFSegNets())
