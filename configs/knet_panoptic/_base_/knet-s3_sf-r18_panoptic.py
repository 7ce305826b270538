# K-Net (3 stages) on SF-ResNet-18: the official deep-stem ResNet-18-D
# (64/128/256/512 channels at strides 4-32) + SFNet's aligned FPN (SFNeck)
# to 4 x 256 channels. A small SFNet + K-Net model, used by the tests.
#
# ImageNet weights: put the official resnet18-deep-inplane128.pth in
# pretrained/ and set model.backbone.init_cfg = dict(type='SFImageNetInit')
# (strict; see sfseg/models/utils/imagenet_init.py).
_base_ = './knet-s3_r50_fpn_panoptic.py'
custom_imports = dict(imports=['sfseg.det'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='SFResNetD',
        depth=18,
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=None,
    ),
    neck=dict(
        _delete_=True,
        type='SFNeck',
        in_channels=[64, 128, 256, 512],
        channels=256,
        fam_kernel_size=3,
        pool_scales=(1, 2, 3, 6),
        norm_cfg=norm_cfg,
    ),
)
