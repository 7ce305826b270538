# Table 8 baseline: the same network with every FAM replaced by bilinear
# upsampling (FPN + PPM).
_base_ = './sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py'
model = dict(decode_head=dict(fam_levels=(False, False, False)))
