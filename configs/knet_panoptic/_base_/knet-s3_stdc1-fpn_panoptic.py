# K-Net (3 stages) on STDC1 + plain FPN: the "STDCv1 + K-Net" baseline of
# the SFNet-Lite paper (Table 15). Only the feature extractor differs from
# the official R50 model: STDC1 with its stride-4 stage exposed
# (64/256/512/1024 channels at strides 4-32) and mmdet's FPN to 4 x 256.
#
# ImageNet weights: put the official STDCNet813_73.91.tar in pretrained/ and
# set model.backbone.init_cfg = dict(type='SFImageNetInit') (strict; see
# sfseg/models/utils/imagenet_init.py).
_base_ = './knet-s3_r50_fpn_panoptic.py'
custom_imports = dict(imports=['sfseg.det'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='SFSTDCNet',
        stdc_type='STDCNet1',
        out_indices=(1, 2, 3, 4),
        norm_cfg=norm_cfg,
        init_cfg=None,
    ),
    neck=dict(in_channels=[64, 256, 512, 1024]),
)
