from .resnet_d import SFBasicBlock, SFResNetD

__all__ = ['SFBasicBlock', 'SFResNetD']
