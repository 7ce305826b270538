"""tools/analysis_tools/knet_overfit.py: 300 iterations reach PQ > 80.

The script trains the shrunk SF-ResNet-18 K-Net on 2 synthetic images and
evaluates PQ on them every 50 iterations (about 35 s on 2 CPU cores).
"""

import os.path as osp
import runpy
import sys

from knet_helpers import REPO

SCRIPT = osp.join(REPO, 'tools', 'analysis_tools', 'knet_overfit.py')


def test_overfit_two_images_to_pq_above_80(tmp_path, capsys):
    from mmengine.registry import DefaultScope

    plot = tmp_path / 'curve.png'
    argv = [
        SCRIPT,
        osp.join(
            REPO,
            'configs',
            'knet_panoptic',
            'knet-s3_sf-r18_8xb2-36e_coco-panoptic.py',
        ),
        '--work-dir',
        str(tmp_path / 'work'),
        '--iters',
        '300',
        '--eval-interval',
        '50',
        '--plot',
        str(plot),
    ]
    old = sys.argv
    sys.argv = argv
    try:
        with DefaultScope.overwrite_default_scope('mmdet'):
            runpy.run_path(SCRIPT, run_name='__main__')
    finally:
        sys.argv = old
    lines = capsys.readouterr().out.splitlines()
    start = lines.index(f'{"iter":>6} {"PQ":>6} {"SQ":>6} {"RQ":>6}')
    rows = [line.split() for line in lines[start + 1 : start + 7]]
    curve = [(int(r[0]), *map(float, r[1:])) for r in rows]
    assert [c[0] for c in curve] == [50, 100, 150, 200, 250, 300]
    for _, pq, sq, rq in curve:
        assert 0 <= pq <= min(sq, rq) + 0.05
    final_pq = curve[-1][1]
    assert final_pq > 80, curve
    assert any(line.startswith('time: ') for line in lines)
    assert plot.is_file() and plot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # The toy set the script wrote: 2 images, panoptic PNGs and the JSON.
    data = tmp_path / 'work' / 'data'
    assert len(list((data / 'images').glob('*.jpg'))) == 2
    assert len(list((data / 'panoptic').glob('*.png'))) == 2
    assert (data / 'annotations' / 'panoptic.json').is_file()
