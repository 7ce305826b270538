"""AOTInductor packages: the network of a segmentor compiled once with
dynamic height and width, equal to eager PyTorch at two sizes, loaded by
a process that imports no sfseg, mmseg or mmengine, and run by the
inferencer / segment.py (``--backend aoti``)."""

import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from common import REPO
from tool_loader import load_tool

from sfseg.deploy import ExportWrapper, export_aoti, verify

CFG = osp.join(
    REPO, 'configs', 'toy', 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'
)


@pytest.fixture(scope='module')
def package(tmp_path_factory):
    """SFNet-Lite-R18 (random weights, random BN statistics) and its
    package, compiled once for the module."""
    from sfseg.apis import init_model

    torch.manual_seed(0)
    model = init_model(CFG, fast=False)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    tmp = tmp_path_factory.mktemp('aoti')
    weights = str(tmp / 'toy.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, weights)
    path = export_aoti(model, str(tmp / 'model.pt2'))
    return dict(model=model, path=path, weights=weights, tmp=tmp)


def test_equal_to_eager_at_two_sizes(package):
    eager = ExportWrapper(package['model']).eval()
    diffs = verify(
        eager, package['path'], [(512, 1024), (383, 767)], runtime='aoti'
    )
    # verify raises beyond 1e-4 of the largest logit; the figures:
    assert set(diffs) == {(512, 1024), (383, 767)}
    assert all(d < 1e-3 for d in diffs.values()), diffs


LOADER = """
import sys, torch
model = torch._inductor.aoti_load_package(sys.argv[1])
x = torch.load(sys.argv[2])
torch.save(model(x), sys.argv[3])
print(sorted({m.split('.')[0] for m in sys.modules}
             & {'sfseg', 'mmseg', 'mmengine', 'mmcv', 'mmdet'}))
"""


def test_loads_without_sfseg(package, tmp_path):
    x = torch.randn(1, 3, 200, 330)
    torch.save(x, tmp_path / 'x.pt')
    env = dict(os.environ, PYTHONPATH='', OMP_NUM_THREADS='2')
    proc = subprocess.run(
        [sys.executable, '-c', LOADER, package['path']]
        + [str(tmp_path / 'x.pt'), str(tmp_path / 'y.pt')],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == '[]'
    with torch.no_grad():
        want = package['model'](x, None, mode='tensor')
    got = torch.load(tmp_path / 'y.pt')
    assert got.shape == want.shape == (1, 19, 50, 83)
    assert (got - want).abs().max() <= 1e-4 * want.abs().max()


def test_segment_tool_runs_the_package(package, toy_city, tmp_path):
    import sfseg.deploy.pipeline as pipeline

    def copy_package(model, path, *args):
        # the module's package, compiled from the same weights
        shutil.copy(package['path'], path)
        return path

    image = sorted(
        osp.join(r, f)
        for r, _, fs in os.walk(osp.join(toy_city, 'leftImg8bit', 'val'))
        for f in fs
    )[0]
    main = load_tool('tools/segment.py').main
    labels = {}
    for backend in ('pytorch', 'aoti'):
        out = tmp_path / backend
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(pipeline, 'export_aoti', copy_package)
            main(
                [image, CFG, package['weights'], '--out-dir', str(out)]
                + ['--backend', backend, '--precision', 'fp32']
            )
        stem = osp.splitext(osp.basename(image))[0]
        labels[backend] = cv2.imread(
            str(out / 'pred' / f'{stem}_pred.png'), cv2.IMREAD_UNCHANGED
        )
    assert labels['aoti'].shape == labels['pytorch'].shape
    assert np.mean(labels['aoti'] == labels['pytorch']) > 0.999


def test_export_tool_compiles_and_verifies(package, tmp_path, capsys):
    import sfseg.deploy.aoti_export as aoti_export

    tool = load_tool('tools/deployment/pytorch2aoti.py')
    out = str(tmp_path / 'tool.pt2')
    with pytest.MonkeyPatch.context() as mp:
        # the compile is the module fixture's; the tool's own steps run
        mp.setattr(
            tool,
            'export_aoti',
            lambda model, path: shutil.copy(package['path'], path),
        )
        tool.main(
            [CFG, package['weights'], '--output', out, '--verify']
            + ['--verify-shape', '96', '160']
        )
    text = capsys.readouterr().out
    assert f'compiled {out} in ' in text
    assert 'verify aoti 96x160: max abs diff' in text
    assert aoti_export.TRACE_SHAPE == (256, 512)


def test_panoptic_path_refuses_aoti():
    from sfseg.det.apis.panoptic_path import panoptic_outputs
    from sfseg.utils import SFSegUserError

    with pytest.raises(SFSegUserError, match='built for semantic'):
        panoptic_outputs(
            'cfg', 'ckpt', 'out', 'cpu', 0.5, 4096, backend='aoti',
            precision='auto', fast=False,
        )  # fmt: skip
