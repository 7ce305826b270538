from .input_check import check_in_channels
from .norm_swap import swap_norm

__all__ = ['check_in_channels', 'swap_norm']
