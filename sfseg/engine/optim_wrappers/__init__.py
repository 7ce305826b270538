from .cpu_amp import SFCpuAmpOptimWrapper
from .nonfinite_guard import NonFiniteGradientError, SFOptimWrapper

__all__ = ['NonFiniteGradientError', 'SFCpuAmpOptimWrapper', 'SFOptimWrapper']
