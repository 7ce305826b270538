"""SFIoUMetric and UDSIoUMetric: label pixels outside the classes are
counted and named with their files."""

import numpy as np
import torch
from mmengine.structures import PixelData


def metric_sample(label, source=None):
    label = torch.as_tensor(label)[None]
    sample = dict(
        pred_sem_seg=PixelData(data=torch.zeros_like(label)).to_dict(),
        gt_sem_seg=PixelData(data=label).to_dict(),
        seg_map_path='labels/x.png',
    )
    if source:
        sample['source'] = source
    return sample


def test_metrics_report_out_of_range_pixels(capsys):
    from mmengine.logging import MMLogger

    from sfseg.evaluation import SFIoUMetric, UDSIoUMetric

    MMLogger.get_instance('sample_guard_metric', log_level='INFO')
    good = np.zeros((4, 4), np.int64)
    bad = good.copy()
    bad[0, :3] = 25
    metric = SFIoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=[str(i) for i in range(19)])
    metric.process({}, [metric_sample(good), metric_sample(bad)])
    result = metric.compute_metrics(metric.results)
    assert result['out_of_range_pixels'] == 3
    text = capsys.readouterr().out
    assert '3 label pixels in 1 of 2 images are outside the classes' in text
    assert 'labels/x.png: label ids outside 0..18 and 255: 25 (3 px)' in text
    metric.results = []
    metric.process({}, [metric_sample(good)])
    assert 'out_of_range_pixels' not in metric.compute_metrics(metric.results)

    uds = UDSIoUMetric(iou_metrics=['mIoU'])
    uds.dataset_meta = metric.dataset_meta
    uds.process({}, [metric_sample(good, 'idd'), metric_sample(bad, 'bdd')])
    result = uds.compute_metrics(uds.results)
    assert result['out_of_range_pixels'] == 3
    assert {'mIoU', 'mIoU.idd', 'mIoU.bdd'} <= set(result)
