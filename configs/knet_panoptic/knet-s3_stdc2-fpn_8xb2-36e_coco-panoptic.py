# STDCv2 + FPN + K-Net, COCO panoptic, 36 epochs, multi-scale training.
_base_ = './knet-s3_stdc1-fpn_8xb2-36e_coco-panoptic.py'
model = dict(backbone=dict(stdc_type='STDCNet2'))
