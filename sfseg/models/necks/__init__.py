from .sf_lite_neck import SFLiteNeck
from .sf_neck import SFNeck

__all__ = ['SFNeck', 'SFLiteNeck']
