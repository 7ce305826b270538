"""benchmark_data_prep.py on a few small generated labels (the figures in
docs/benchmark.md come from full-size runs)."""

import os.path as osp
import re
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark_data_prep.py')


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
