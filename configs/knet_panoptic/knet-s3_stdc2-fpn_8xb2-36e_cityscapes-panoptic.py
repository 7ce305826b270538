# STDCv2 + FPN + K-Net, Cityscapes panoptic, 36 epochs from COCO.
_base_ = './knet-s3_stdc1-fpn_8xb2-36e_cityscapes-panoptic.py'
load_from = 'work_dirs/knet-s3_stdc2-fpn_8xb2-36e_coco-panoptic/epoch_36.pth'
model = dict(backbone=dict(stdc_type='STDCNet2'))
