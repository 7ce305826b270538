"""SFNet backbones and the aligned FPN under mmdet-scope names.

K-Net configs run with ``default_scope='mmdet'``. The SFNet modules live in
mmseg's registry (``import sfseg``); registering the same classes in mmdet's
``MODELS`` lets a detector config say ``type='SFNeck'`` like any mmdet
neck. The alternative, ``type='mmseg.SFNeck'``, switches the default scope
to mmseg while the module and its children are built, which is easy to
trip over (an mmdet-only ``init_cfg`` or norm type inside would then not
resolve). The classes are the same objects, so weights and behaviour are
identical in both scopes.

With ``SFNeck`` K-Net gets the SFNet feature extractor of the paper
("backbone + aligned decoder"): for backbone levels at strides 4-32,
``SFNeck`` returns ``(P_4, P_8, P_16, PPM)``, every level with
``channels`` channels, each coarse level aligned to the next finer one by a
FAM before the top-down sum. K-Net's heads use GroupNorm(32), so
``channels`` must be a multiple of 32 (256 in the configs).
"""

from mmdet.registry import MODELS

from sfseg.models.backbones import SFResNetD, SFSTDCNet
from sfseg.models.necks import SFNeck

SF_DET_MODULES = {
    'SFResNetD': SFResNetD,
    'SFSTDCNet': SFSTDCNet,
    'SFNeck': SFNeck,
}

for _name, _module in SF_DET_MODULES.items():
    MODELS.register_module(name=_name, module=_module)
