from .epoch_poly_lr import SFEpochPolyLR, SFEpochPolyParamScheduler

__all__ = ['SFEpochPolyLR', 'SFEpochPolyParamScheduler']
