# SFNet-DFv1 + deep supervision (official AlignedDFnetv1_FPNDSN, used
# by the official Cityscapes DFNet scripts): 2 dsn branches, weight 1.0,
# OHEM min_kept 100k on every output (CriterionSFNet).
_base_ = './sfnet_df1_8xb2-56k_cityscapes-1024x1024.py'
model = dict(
    decode_head=dict(
        loss_decode=dict(type='SFOhemCrossEntropy', min_kept=100000),
        dsn_loss_decode=dict(
            type='SFOhemCrossEntropy', thresh=0.7, min_kept=100000
        ),
    )
)
