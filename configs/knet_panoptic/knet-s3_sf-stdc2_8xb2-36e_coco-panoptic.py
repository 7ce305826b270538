# SF-STDCv2 (STDC2 + SFNet aligned FPN) + K-Net, COCO panoptic, 36 epochs.
_base_ = './knet-s3_sf-stdc1_8xb2-36e_coco-panoptic.py'
model = dict(backbone=dict(stdc_type='STDCNet2'))
