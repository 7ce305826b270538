"""benchmark_data_prep.py on a few small generated labels (the figures in
docs/benchmark.md come from full-size runs)."""

import os
import os.path as osp
import re
import subprocess
import sys

import pytest
from common import REPO

TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark_data_prep.py')
CITY_CFG = osp.join(
    REPO, 'configs', 'sfnet', 'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py'
)


def test_reports_every_section():
    proc = subprocess.run(
        [sys.executable, TOOL, '--labels', '6', '--draws', '2', '--size']
        + ['256', '512'],
        capture_output=True,
        text=True,
        timeout=600,
        env={'PYTHONPATH': REPO, 'OMP_NUM_THREADS': '1', 'PATH': ''},
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r'1 process: [\d.]+\s+\d+ processes: [\d.]+', out)
    assert re.search(r'UDS \(35000 labels\): [\d.]+ min', out)
    assert re.search(r'cold [\d.]+ s .* warm [\d.]+ s', out)
    assert re.search(r'sfseg [\d.]+', out)
    for name in ('SFRandomSizeAndCrop', 'SFColorJitter', 'SFGaussianBlur'):
        assert re.search(rf'sfseg\s+{name}\s+[\d.]+', out), out


def test_max_abs_difference_in_grey_levels():
    import numpy as np

    from sfseg.official_checks.same_draws import max_abs_difference

    a = np.array([[0, 255], [10, 20]], np.uint8)
    b = np.array([[3, 250], [10, 20]], np.uint8)
    assert max_abs_difference(a, b) == 5  # no uint8 wrap-around
    assert max_abs_difference(a, a) == 0
    assert max_abs_difference(a, b[:1]) == 'shapes (2, 2) vs (1, 2)'


@pytest.mark.skipif(
    not os.environ.get('SFSEGNETS_ROOT'),
    reason='SFSEGNETS_ROOT (a lxtGH/SFSegNets clone) not set',
)
@pytest.mark.parametrize('centroid', [None, (300, 100)])
def test_same_draws_give_the_official_outputs(centroid):
    import numpy as np
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import sfseg  # noqa: F401  (registers the transforms)
    from sfseg.official_checks.official_augmentation import (
        official_transforms,
        sfseg_transforms,
    )
    from sfseg.official_checks.same_draws import same_draw_differences

    init_default_scope('mmseg')
    rng = np.random.default_rng(0)
    label = np.kron(
        rng.integers(0, 19, (8, 16), dtype=np.uint8),
        np.ones((32, 32), np.uint8),
    )
    rgb = rng.integers(0, 256, (*label.shape, 3), dtype=np.uint8)
    joint, appearance = official_transforms(os.environ['SFSEGNETS_ROOT'])
    steps = sfseg_transforms(Config.fromfile(CITY_CFG))
    np.random.seed(3)
    diffs = same_draw_differences(
        joint, appearance, steps, rgb, label, centroid
    )
    assert diffs['RandomSizeAndCrop image'] == 0
    assert diffs['RandomSizeAndCrop label'] == 0
    assert diffs['ColorJitter'] == 0
    assert diffs['GaussianBlur'] <= 1
    assert diffs['GaussianBlur share differing'] < 0.01
