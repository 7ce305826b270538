"""GridSample-free export (``warp='gather'``): the sample equals
grid_sample, the graphs hold no GridSample node and agree with PyTorch
eager in ONNX Runtime and OpenVINO at the traced and at odd sizes, and the
opset policy of each warp is enforced with its reason."""

import os.path as osp

import onnx
import pytest
import torch
import torch.nn.functional as F
from common import REPO
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS
from tool_loader import load_tool

from sfseg.deploy import (
    GatherExportWarp,
    check_opset,
    export_network,
    gather_sample,
    verify,
)
from sfseg.models.layers.flow_warp import FlowWarp, flow_warp, warp_grid

CITY = '8xb2-56k_cityscapes-1024x1024.py'
CONFIGS = {
    'sfnet_r18': f'configs/sfnet/sfnet_r18-d32_{CITY}',
    'sfnet_lite_r18': 'configs/sfnet_lite/'
    'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py',
    'sfnet_stdc1': f'configs/sfnet/sfnet_stdc1_{CITY}',
}


def grid_sample(x, grid):
    return F.grid_sample(x, grid, 'bilinear', 'zeros', align_corners=True)


@pytest.mark.parametrize(
    'n, size_in, size_out',
    [(1, (8, 12), (16, 24)), (2, (5, 7), (11, 13)), (1, (1, 6), (3, 9))],
)
def test_gather_sample_equals_grid_sample(n, size_in, size_out):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, *size_in, generator=gen)
    # positions well outside [-1, 1] too: the zero padding
    grid = torch.rand(n, *size_out, 2, generator=gen) * 3 - 1.5
    torch.testing.assert_close(
        gather_sample(x, grid), grid_sample(x, grid), rtol=0, atol=1e-6
    )
    # a 1 x H x W x 2 grid is shared by the batch
    one = grid[:1]
    torch.testing.assert_close(
        gather_sample(x, one),
        grid_sample(x, one.expand(n, -1, -1, -1)),
        rtol=0,
        atol=1e-6,
    )


def test_gather_warp_module_is_the_paper_warp_in_eager():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 6, 10, generator=gen)
    flow = torch.randn(2, 2, 12, 20, generator=gen) * 2
    assert torch.equal(GatherExportWarp()(x, flow), flow_warp(x, flow))
    got = gather_sample(x, warp_grid(flow))
    torch.testing.assert_close(got, flow_warp(x, flow), rtol=0, atol=1e-6)


def build(name):
    torch.manual_seed(0)
    cfg = Config.fromfile(osp.join(REPO, CONFIGS[name]))
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
    with torch.no_grad():  # random BN statistics, as trained models have
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return model


def ops(path):
    return {node.op_type for node in onnx.load(path).graph.node}


@pytest.mark.openvino
@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_gather_graph_has_no_gridsample_and_agrees(name, tmp_path):
    model = build(name)
    gather = str(tmp_path / 'gather.onnx')
    wrapper = export_network(model, gather, (64, 128), warp='gather')
    assert 'GridSample' not in ops(gather)
    assert {'Gather', 'Floor'} <= ops(gather)
    warps = [m for m in wrapper.modules() if isinstance(m, GatherExportWarp)]
    # every warp replaced, in a copy: the model keeps the paper's
    assert len(warps) == sum(type(m) is FlowWarp for m in model.modules())
    assert warps and not any(type(m) is FlowWarp for m in wrapper.modules())
    for runtime in ('onnxruntime', 'openvino'):
        # the traced size and an odd one
        diffs = verify(wrapper, gather, [(64, 128), (47, 95)], 1e-4, runtime)
        assert max(diffs.values()) < 1e-4
    plain = str(tmp_path / 'gridsample.onnx')
    export_network(model, plain, (64, 128))
    assert 'GridSample' in ops(plain)


@pytest.mark.parametrize('opset', [13, 20])
def test_gather_graph_exports_at_its_opsets(opset, tmp_path):
    model = build('sfnet_lite_r18')
    out = str(tmp_path / 'model.onnx')
    wrapper = export_network(model, out, (64, 128), opset=opset, warp='gather')
    assert onnx.load(out).opset_import[0].version == opset
    verify(wrapper, out, [(64, 128)], 1e-4, 'onnxruntime')


def test_opset_policy_names_the_reason():
    for opset in (16, 17, 18):
        check_opset(opset)
    with pytest.raises(ValueError, match='opset 15 has no GridSample'):
        check_opset(15)
    with pytest.raises(ValueError, match='TensorRT#4646'):
        check_opset(20)
    with pytest.raises(ValueError, match='gather warp is written for'):
        check_opset(12, 'gather')
    with pytest.raises(ValueError, match="warp 'nearest' is not one of"):
        check_opset(17, 'nearest')


@pytest.mark.openvino
def test_cli_gather_verifies_odd_sizes_and_refuses_opset_20(tmp_path, capsys):
    tool = load_tool('tools/deployment/pytorch2onnx.py')
    lite = osp.join(REPO, CONFIGS['sfnet_lite_r18'])
    out = str(tmp_path / 'lite.onnx')
    tool.main(
        [lite, '--output', out, '--shape', '64', '128', '--warp', 'gather']
        + ['--verify', '--verify-shape', '47', '95']
    )
    text = capsys.readouterr().out
    assert 'warp gather' in text
    assert 'verify onnxruntime 47x95: max abs diff' in text
    assert 'verify openvino 47x95: max abs diff' in text
    assert 'GridSample' not in ops(out)
    with pytest.raises(SystemExit, match='opset 20: GridSample graphs'):
        tool.main([lite, '--output', out, '--opset', '20'])
