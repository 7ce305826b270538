# SFNet-R50 (official DeepR50_SF_deeply): ResNet-50-D (mmseg ResNetV1c with
# a 128-channel stem and dilations 2/4 at stride 32) + SFHead, fpn_dim 256.
_base_ = './sfnet_r18.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNetV1c',
        depth=50,
        stem_channels=128,
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 2, 4),
        contract_dilation=False,
        out_indices=(0, 1, 2, 3),
        norm_cfg={{_base_.norm_cfg}},
        norm_eval=False,
        style='pytorch',
        # resnet50-deep.pth / resnet101-deep.pth from pretrained/
        init_cfg=dict(type='SFImageNetInit'),
    ),
    decode_head=dict(in_channels=[256, 512, 1024, 2048], channels=256),
)
