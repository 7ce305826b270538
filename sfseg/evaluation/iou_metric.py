"""mmseg's IoUMetric that reports label ids outside the classes.

mmseg's ``IoUMetric.intersect_and_union`` counts labels with
``torch.histc(min=0, max=num_classes - 1)``: a pixel whose label is 25 with
19 classes disappears from every class's label area without a word (its
prediction still counts against the predicted class). A label file with
such ids is a broken conversion; the metric says so.
"""

from mmengine.logging import MMLogger, print_log
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS

from sfseg.datasets.checks import describe_ids, out_of_range_ids


@METRICS.register_module()
class SFIoUMetric(IoUMetric):
    """``IoUMetric`` (same metrics, same arguments) that counts the pixels
    whose label is outside ``0..C-1`` and ``ignore_index``, names their
    files in a warning and returns their number as
    ``out_of_range_pixels`` when there are any."""

    def process(self, data_batch, data_samples):
        before = len(self.results)
        super().process(data_batch, data_samples)
        if len(self.results) == before:  # format_only: no labels
            return
        num_classes = len(self.dataset_meta['classes'])
        for offset, sample in enumerate(data_samples):
            label = sample['gt_sem_seg']['data'].squeeze().cpu().numpy()
            info = dict(
                path=sample.get('seg_map_path') or sample.get('img_path'),
                out_of_range=out_of_range_ids(
                    label, num_classes, self.ignore_index
                ),
            )
            info.update(self.sample_info(sample))
            self.results[before + offset] = (
                *self.results[before + offset],
                info,
            )

    def sample_info(self, sample):
        """Extra per-sample values kept with the areas (for subclasses)."""
        return {}

    def compute_metrics(self, results):
        metrics = super().compute_metrics([r[:4] for r in results])
        bad = [r[4] for r in results if r[4]['out_of_range']]
        if bad:
            total = sum(sum(i['out_of_range'].values()) for i in bad)
            shown = '\n  '.join(
                f'{i["path"]}: '
                + describe_ids(
                    i['out_of_range'],
                    len(self.dataset_meta['classes']),
                    self.ignore_index,
                )
                for i in bad[:10]
            )
            print_log(
                f'{total} label pixels in {len(bad)} of {len(results)} '
                f'images are outside the classes; they count in no class '
                f'(IoU as mmseg computes it), fix the labels:\n  {shown}',
                MMLogger.get_current_instance(),
                level=30,
            )
            metrics['out_of_range_pixels'] = total
        return metrics
