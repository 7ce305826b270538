"""mIoU overall and per source domain, built on mmseg's IoUMetric."""

from collections import OrderedDict

from mmengine.logging import MMLogger, print_log
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class UDSIoUMetric(IoUMetric):
    """``IoUMetric`` that also reports every source domain separately.

    Each sample's ``source`` meta key (set by :class:`UDSDataset`) selects
    its domain. Returns the overall metrics (one confusion matrix over all
    samples, as the official UDS evaluation) plus ``<metric>.<source>``
    for every source, e.g. ``mIoU.cityscapes``.
    """

    def process(self, data_batch, data_samples):
        before = len(self.results)
        super().process(data_batch, data_samples)
        for offset, sample in enumerate(data_samples):
            source = sample.get('source', 'unknown')
            self.results[before + offset] = (
                *self.results[before + offset],
                source,
            )

    def compute_metrics(self, results):
        logger = MMLogger.get_current_instance()
        by_source = OrderedDict()
        for *stats, source in results:
            by_source.setdefault(source, []).append(tuple(stats))
        print_log('overall (all sources):', logger)
        metrics = super().compute_metrics(
            [r for rs in by_source.values() for r in rs]
        )
        for source, items in by_source.items():
            print_log(f'source {source} ({len(items)} images):', logger)
            for key, value in super().compute_metrics(items).items():
                metrics[f'{key}.{source}'] = value
        summary = ', '.join(
            f'{s}: {metrics[f"mIoU.{s}"]:.2f}' for s in by_source
        )
        print_log(
            f'mIoU overall {metrics["mIoU"]:.2f}; per source: {summary}',
            logger,
        )
        return metrics
