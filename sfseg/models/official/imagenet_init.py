"""Initialise a backbone from the official ImageNet file, strictly.

The official scripts always start from ImageNet weights
(``./pretrained_models/*.pth``); training from scratch loses several mIoU
points (lxtGH/SFSegNets#5). sfseg's configs name this initialiser as the
backbone's ``init_cfg``, so ``mim train`` reads the file as downloaded
(no conversion step) from one folder:

1. ``init_cfg.pretrained_dir`` if set (``--cfg-options
   model.backbone.init_cfg.pretrained_dir=/data/imagenet``), else
2. the ``SFSEG_PRETRAINED_DIR`` environment variable, else
3. ``pretrained/`` in the current directory (next to ``work_dirs/``).

mmengine's ``Pretrained`` loads non-strictly: a file of another layout
only logs warnings and training runs from random weights. Here every
backbone tensor must come from the file with its shape; only the tensors
the official models never run (the ImageNet classifiers, the STDC
aliases) are dropped, by their exact names.
"""

import os
import os.path as osp

from mmengine.logging import print_log
from mmengine.model.weight_init import update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS

from sfseg.utils.user_errors import SFSegUserError

from .keys import (
    BACKBONES,
    ConversionError,
    detect_backbone,
    map_backbone_key,
    read_official_checkpoint,
)

PRETRAINED_ENV = 'SFSEG_PRETRAINED_DIR'
DEFAULT_DIR = 'pretrained'
# The official file names (scripts' ./pretrained_models/<name>).
OFFICIAL_FILES = {
    'resnet18_deep': 'resnet18-deep-inplane128.pth',
    'resnet50_deep': 'resnet50-deep.pth',
    'resnet101_deep': 'resnet101-deep.pth',
    'stdc1': 'STDCNet813_73.91.tar',
    'stdc2': 'STDCNet1446_76.47.tar',
    'dfnet1': 'df1_imagenet.pth',
    'dfnet2': 'df2_imagenet.pth',
}
OFFICIAL_README = 'https://github.com/lxtGH/SFSegNets#pretrained-models'
FROM_SCRATCH = '--cfg-options model.backbone.init_cfg=None'
SHOWN_KEYS = 10
_COUNTER = 'num_batches_tracked'


class PretrainedInitError(ConversionError, RuntimeError):
    """The ImageNet file is missing, unreadable or of another backbone."""


def official_backbone(module):
    """The official ImageNet backbone name (a key of ``OFFICIAL_FILES``)
    for an sfseg / mmseg backbone module."""
    from mmseg.models.backbones import ResNet, STDCNet

    from ..backbones.dfnet import SFDFNet

    if isinstance(module, SFDFNet):
        return {'v1': 'dfnet1', 'v2': 'dfnet2'}[module.arch]
    if isinstance(module, STDCNet):
        # stage 2 holds 2 blocks in STDC1 (STDCNet813), 4 in STDC2
        return 'stdc2' if len(module.stages[2]) == 4 else 'stdc1'
    if isinstance(module, ResNet) and module.depth in (18, 50, 101):
        return f'resnet{module.depth}_deep'
    raise PretrainedInitError(
        f'SFImageNetInit: no official ImageNet file for a '
        f'{type(module).__name__} backbone (known: ResNet-D 18/50/101, '
        'STDC1/2, DFNet v1/v2); set its init_cfg to another initialiser'
    )


def pretrained_dir(explicit=None):
    """The folder the ImageNet files are read from (see module doc)."""
    return explicit or os.environ.get(PRETRAINED_ENV) or DEFAULT_DIR


def _missing_file_error(path, name):
    folder = osp.dirname(path) or '.'
    where = (
        f'the pretrained folder {osp.abspath(folder)} does not exist'
        if not osp.isdir(folder)
        else f'{path} not found'
    )
    return PretrainedInitError(
        f'{where}: the {name} backbone starts from the official ImageNet '
        f'weights {osp.basename(path)}, published in the official '
        f'SFSegNets README ({OFFICIAL_README}). Put the file there as '
        f'downloaded (or point {PRETRAINED_ENV} or '
        'model.backbone.init_cfg.pretrained_dir at the folder that has '
        'it), or train from scratch on purpose with '
        f'{FROM_SCRATCH}'
    )


def _listed(title, items):
    shown = ', '.join(items[:SHOWN_KEYS])
    more = len(items) - SHOWN_KEYS
    return f'{len(items)} {title}: {shown}' + (
        f' and {more} more' if more > 0 else ''
    )


def map_official_state(state, name, expected, path):
    """Official ImageNet ``state`` -> (sfseg backbone state, dropped keys,
    number of tensors taken from the file), refused unless it fills every
    tensor of ``expected`` (a backbone's state dict) with its shape. BN
    step counters absent from old files keep the module's value, as
    ``torch`` does for such files."""
    family = BACKBONES[name]
    mapped, dropped = {}, []
    for key, value in state.items():
        new = map_backbone_key(key, family, state)
        if new is None:
            dropped.append(key)
        else:
            mapped[new] = value
    unknown = sorted(set(mapped) - set(expected))
    missing = sorted(
        k for k in set(expected) - set(mapped) if not k.endswith(_COUNTER)
    )
    shapes = [
        f'{k} {tuple(mapped[k].shape)} vs {tuple(expected[k].shape)}'
        for k in sorted(set(mapped) & set(expected))
        if mapped[k].shape != expected[k].shape
    ]
    if unknown or missing or shapes:
        problems = [
            _listed(title, items)
            for title, items in (
                ('unexpected keys', unknown),
                ('missing keys', missing),
                ('shape mismatches (file vs model)', shapes),
            )
            if items
        ]
        try:
            guess = detect_backbone(state)
        except SFSegUserError:
            guess = None
        hint = (
            f'; the file looks like the {guess} ImageNet weights '
            f'({OFFICIAL_FILES[guess]})'
            if guess and guess != name
            else ''
        )
        raise PretrainedInitError(
            f'{path} does not fit the {name} backbone of this config'
            f'{hint}:\n  ' + '\n  '.join(problems)
        )
    from_file = len(mapped)
    for key in set(expected) - set(mapped):  # counters only, see above
        mapped[key] = expected[key]
    return mapped, dropped, from_file


@WEIGHT_INITIALIZERS.register_module(name='SFImageNetInit')
class SFImageNetInit:
    """Load the official ImageNet weights into a backbone, strictly.

    Args:
        filename (str, optional): the file's name (or a path); defaults to
            the official name for the backbone's type and depth.
        pretrained_dir (str, optional): the folder holding it; defaults to
            ``$SFSEG_PRETRAINED_DIR`` or ``pretrained``.
    """

    def __init__(self, filename=None, pretrained_dir=None):
        self.filename = filename
        self.pretrained_dir = pretrained_dir

    def path_for(self, module):
        name = official_backbone(module)
        filename = self.filename or OFFICIAL_FILES[name]
        folder = pretrained_dir(self.pretrained_dir)
        return name, osp.abspath(osp.join(folder, filename))

    def __call__(self, module):
        name, path = self.path_for(module)
        if not osp.isfile(path):
            raise _missing_file_error(path, name)
        _, state = read_official_checkpoint(path, PretrainedInitError)
        expected = module.state_dict()
        mapped, dropped, filled = map_official_state(
            state, name, expected, path
        )
        module.load_state_dict(mapped, strict=True)
        # mmengine initialises children after a non-Pretrained init_cfg
        # (ConvModule re-draws its conv): every tensor came from the file.
        for sub in module.modules():
            if hasattr(sub, '_is_init'):
                sub._is_init = True
        unused = (
            f' ({len(dropped)} unused official tensors dropped: the '
            'ImageNet classifier'
            + (', STDC aliases)' if 'stdc' in name else ')')
            if dropped
            else ''
        )
        print_log(
            f'backbone initialised from {path}: {filled}/{len(expected)} '
            f'tensors{unused}',
            logger='current',
        )
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=f'{name} ImageNet: {path}')
