from .ohem_cross_entropy import SFOhemCrossEntropy

__all__ = ['SFOhemCrossEntropy']
