# SFNet-STDC2 on UDS (official train_merged_sfnet_v1_stdc_v2.sh); the UDS
# pre-training of paper Table 14's SFNet-STDCv2 CamVid row.
_base_ = './sfnet_stdc1_8xb4-131k_uds-1024x1024.py'
model = dict(backbone=dict(stdc_type='STDCNet2'))
auto_scale_lr = dict(base_batch_size=32)  # official 8 GPUs x 4 images
