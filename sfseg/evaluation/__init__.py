from .uds_metric import UDSIoUMetric

__all__ = ['UDSIoUMetric']
