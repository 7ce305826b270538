from .nonfinite_guard import NonFiniteGradientError, SFOptimWrapper

__all__ = ['NonFiniteGradientError', 'SFOptimWrapper']
