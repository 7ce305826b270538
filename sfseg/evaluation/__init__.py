from .iou_metric import SFIoUMetric
from .uds_metric import UDSIoUMetric

__all__ = ['SFIoUMetric', 'UDSIoUMetric']
