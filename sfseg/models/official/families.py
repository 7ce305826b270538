"""The official SFSegNets model families: the one table that the
checkpoint converter, the ImageNet initialiser, the checks against the
official code and the benchmark read.

Each family is one released architecture of lxtGH/SFSegNets: the sfseg
config that builds it, the official constructor (module and function of
the official ``network/`` package), the official ImageNet file its
backbone starts from and, for the families the training check covers,
the official criterion (``'ohem'``: ``OhemCrossEntropy2dTensor``;
``'sfnet'``: ``CriterionSFNet`` with the deep-supervision terms).
"""

import os.path as osp
from dataclasses import dataclass
from typing import Optional

_CITY = '8xb2-56k_cityscapes-1024x1024.py'
_LITE = '8xb2-186k_cityscapes-1024x1024.py'


@dataclass(frozen=True)
class OfficialFamily:
    """One official model family.

    Args:
        name (str): the official family name, e.g. ``'sfnet_r18'``.
        config (str): the sfseg config (relative to ``configs/``).
        module (str): the official module that builds it.
        constructor (str, optional): its function there; ``None`` where
            the official code has none (built from its parts).
        imagenet (str): the official ImageNet backbone it starts from.
        criterion (str, optional): the official training criterion, for
            the families the training check covers.
    """

    name: str
    config: str
    module: str
    constructor: Optional[str]
    imagenet: str
    criterion: Optional[str] = None

    @property
    def config_name(self):
        """The config's file name without ``.py``."""
        return osp.splitext(osp.basename(self.config))[0]


_RESNET = 'network.sfnet_resnet'
_DFNET = 'network.sfnet_dfnet'
_STDC = 'network.sfnet_stdcnet'

FAMILIES = {
    f.name: f
    for f in (
        OfficialFamily('sfnet_r18', f'sfnet/sfnet_r18-d32_{_CITY}', _RESNET,
                       'DeepR18_SF_deeply', 'resnet18_deep', 'ohem'),
        OfficialFamily('sfnet_r18_dsn', f'sfnet/sfnet-dsn_r18-d32_{_CITY}',
                       _RESNET, None, 'resnet18_deep', 'sfnet'),
        OfficialFamily('sfnet_r50', f'sfnet/sfnet_r50-d32_{_CITY}', _RESNET,
                       'DeepR50_SF_deeply', 'resnet50_deep'),
        OfficialFamily('sfnet_r101', f'sfnet/sfnet_r101-d32_{_CITY}',
                       _RESNET, 'DeepR101_SF_deeply', 'resnet101_deep'),
        OfficialFamily('sfnet_df1', f'sfnet/sfnet_df1_{_CITY}', _DFNET,
                       'AlignedDFnetv1', 'dfnet1'),
        OfficialFamily('sfnet_df1_dsn', f'sfnet/sfnet-dsn_df1_{_CITY}',
                       _DFNET, 'AlignedDFnetv1_FPNDSN', 'dfnet1'),
        OfficialFamily('sfnet_df2', f'sfnet/sfnet_df2_{_CITY}', _DFNET,
                       'AlignedDFnetv2', 'dfnet2'),
        OfficialFamily('sfnet_df2_dsn', f'sfnet/sfnet-dsn_df2_{_CITY}',
                       _DFNET, 'AlignedDFnetv2_FPNDSN', 'dfnet2'),
        OfficialFamily('sfnet_stdc1', f'sfnet/sfnet_stdc1_{_CITY}', _STDC,
                       'AlignedSTDC1', 'stdc1', 'ohem'),
        OfficialFamily('sfnet_stdc2', f'sfnet/sfnet_stdc2_{_CITY}', _STDC,
                       'AlignedSTDC2', 'stdc2'),
        OfficialFamily('sfnet_lite_r18',
                       f'sfnet_lite/sfnet-lite_r18-d32_{_LITE}', _RESNET,
                       'DeepR18_SFV2_deeply_dsn_FA_Atten', 'resnet18_deep',
                       'sfnet'),
        OfficialFamily('sfnet_lite_stdc1',
                       f'sfnet_lite/sfnet-lite_stdc1_{_LITE}', _STDC,
                       'AlignedSTDC1_SFV2_spatial_atten', 'stdc1'),
        OfficialFamily('sfnet_lite_stdc2',
                       f'sfnet_lite/sfnet-lite_stdc2_{_LITE}', _STDC,
                       'AlignedSTDC2_SFV2_spatial_atten', 'stdc2'),
    )
}  # fmt: skip


def family_of_config(config):
    """The official family built by ``config`` (a path or config name),
    or ``None``."""
    name = osp.splitext(osp.basename(str(config)))[0]
    for family in FAMILIES.values():
        if family.config_name == name:
            return family
    return None
