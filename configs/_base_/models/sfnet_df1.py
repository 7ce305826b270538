# SFNet-DFv1 (official AlignedDFnetv1): DFNet v1 (strides 16, 32, 32) +
# SFHead with fpn_dim 64 (2 FAMs); logits at stride 16.
_base_ = './sfnet_r18.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='SFDFNet',
        arch='v1',
        norm_cfg={{_base_.norm_cfg}},
        # official: the basic blocks' BNs are never synced
        block_norm_cfg=dict(type='BN', requires_grad=True),
        # df1_imagenet.pth / df2_imagenet.pth from pretrained/, strictly
        # (the official loader is strict=False)
        init_cfg=dict(type='SFImageNetInit'),
    ),
    decode_head=dict(
        in_channels=[128, 256, 512], in_index=[0, 1, 2], channels=64
    ),
)
