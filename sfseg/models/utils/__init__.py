from .input_check import check_in_channels

__all__ = ['check_in_channels']
