from .dfnet import SFDFNet
from .resnet_d import SFBasicBlock, SFResNetD
from .stdc import SFSTDCNet

__all__ = ['SFBasicBlock', 'SFDFNet', 'SFResNetD', 'SFSTDCNet']
