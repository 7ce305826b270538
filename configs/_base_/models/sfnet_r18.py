# SFNet-R18 (official DeepR18_SF_deeply): ResNet-18-D + SFHead (3 FAMs).
custom_imports = dict(imports=['sfseg'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
)
model = dict(
    type='SFEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='SFResNetD',
        depth=18,
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        # official ImageNet weights, read strictly from pretrained/ (see
        # sfseg.models.utils.imagenet_init): resnet18-deep-inplane128.pth
        init_cfg=dict(type='SFImageNetInit'),
    ),
    decode_head=dict(
        type='SFHead',
        in_channels=[64, 128, 256, 512],
        in_index=[0, 1, 2, 3],
        channels=128,
        pool_scales=(1, 2, 3, 6),
        fam_kernel_size=3,
        num_classes=19,
        norm_cfg=norm_cfg,
        # official: the fusion convs (fpn_out, conv_last) are never synced
        fuse_norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=True,
        # official --ohem: OhemCrossEntropy2dTensor(0.7, 10,000)
        loss_decode=dict(
            type='SFOhemCrossEntropy',
            thresh=0.7,
            min_kept=10000,
            loss_weight=1.0,
        ),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
