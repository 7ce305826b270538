from .sf_dsn_head import SFDSNHead
from .sf_head import SFHead
from .sf_lite_head import SFLiteHead

__all__ = ['SFDSNHead', 'SFHead', 'SFLiteHead']
