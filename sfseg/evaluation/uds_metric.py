"""mIoU overall and per source domain, built on mmseg's IoUMetric."""

from collections import OrderedDict

from mmengine.logging import MMLogger, print_log
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS

from .iou_metric import SFIoUMetric


@METRICS.register_module()
class UDSIoUMetric(SFIoUMetric):
    """``IoUMetric`` that also reports every source domain separately.

    Each sample's ``source`` meta key (set by :class:`UDSDataset`) selects
    its domain. Returns the overall metrics (one confusion matrix over all
    samples, as the official UDS evaluation) plus ``<metric>.<source>``
    for every source, e.g. ``mIoU.cityscapes``.
    """

    def sample_info(self, sample):
        return dict(source=sample.get('source', 'unknown'))

    def compute_metrics(self, results):
        logger = MMLogger.get_current_instance()
        by_source = OrderedDict()
        for result in results:
            by_source.setdefault(result[4]['source'], []).append(result)
        print_log('overall (all sources):', logger)
        metrics = super().compute_metrics(
            [r for rs in by_source.values() for r in rs]
        )
        for source, items in by_source.items():
            print_log(f'source {source} ({len(items)} images):', logger)
            part = IoUMetric.compute_metrics(self, [r[:4] for r in items])
            for key, value in part.items():
                metrics[f'{key}.{source}'] = value
        summary = ', '.join(
            f'{s}: {metrics[f"mIoU.{s}"]:.2f}' for s in by_source
        )
        print_log(
            f'mIoU overall {metrics["mIoU"]:.2f}; per source: {summary}',
            logger,
        )
        return metrics
