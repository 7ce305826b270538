# SFNet-R18 + deep supervision (official train_cityscapes_sfnet_res18_dsn):
# one dsn branch per lateral level, each with loss weight 1.0, and OHEM with
# min_kept 100k on every output (CriterionSFNet).
_base_ = './sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py'
model = dict(
    decode_head=dict(
        loss_decode=dict(type='SFOhemCrossEntropy', min_kept=100000),
        dsn_loss_decode=dict(
            type='SFOhemCrossEntropy', thresh=0.7, min_kept=100000
        ),
    )
)
