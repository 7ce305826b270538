"""Official checkpoint conversion, on synthetic state_dicts whose keys,
shapes and dtypes are exactly those of the official models (tables dumped
from lxtGH/SFSegNets, see sfseg/official_checks/official_keys/README.md)."""

import os
import os.path as osp
import re

import pytest
import torch
from tool_loader import load_tool

from sfseg.models.official import convert as conv
from sfseg.models.official import model_family
from sfseg.official_checks.official_layouts import (
    OFFICIAL_KEYS,
    random_state,
    read_layout,
    save_released,
)
from sfseg.utils import load_checkpoint_file, load_weights_strictly
from sfseg.utils.checkpoint import read_checkpoint

KEYS = OFFICIAL_KEYS
main = load_tool('tools/model_converters/sfsegnets2sfseg.py').main


def read_table(name):
    return read_layout(KEYS, name)


def synthetic(name, seed=0):
    return random_state(KEYS, name, seed)


FAMILIES = sorted(conv.FAMILIES)
BACKBONES = sorted(conv.BACKBONES)


@pytest.mark.parametrize('family', FAMILIES)
def test_roundtrip_into_sfseg_model_strict(family, tmp_path):
    state = synthetic(family)
    assert conv.detect_family(state) == family
    src, dst = tmp_path / 'official.pth', tmp_path / 'sfseg.pth'
    save_released(state, src)
    report = conv.convert(str(src), str(dst))
    assert report['family'] == family
    # plain tensors and values: torch's own weights-only loader suffices
    out = torch.load(dst, map_location='cpu', weights_only=True)
    model, _ = conv.build_reference(family, report['num_classes'])
    model.load_state_dict(out['state_dict'], strict=True)
    # Every official tensor is either carried over unchanged or dropped on
    # purpose (STDC aliases / classifier, never-run SFNet-Lite parts).
    carried = {id(v) for v in out['state_dict'].values()}
    assert report['kept'] + report['dropped'] == len(state)
    mapped, _ = conv.convert_state_dict(state, family)
    for new_key, value in mapped.items():
        assert torch.equal(out['state_dict'][new_key], value)
    assert len(carried) == report['kept']
    assert torch.equal(
        out['state_dict']['decode_head.conv_seg.weight'],
        state['head.conv_last.1.weight'],
    )
    meta = out['meta']
    assert meta['official_family'] == family and meta['epoch'] == 299
    assert meta['dataset_meta']['classes'][:2] == ['road', 'sidewalk']
    assert meta['config'] == conv.FAMILIES[family].config
    # read directly, the official file gives the model the same tensors
    read = read_checkpoint(str(src))
    assert read['meta'] == meta
    assert read['state_dict'].keys() == out['state_dict'].keys()
    for key, value in out['state_dict'].items():
        assert torch.equal(read['state_dict'][key], value), key
    assert model_family(model.state_dict()) == family
    load_weights_strictly(model, str(src))


def test_dropped_keys_are_exactly_the_unused_ones():
    _, dropped = conv.convert_state_dict(
        synthetic('sfnet_lite_r18'), 'sfnet_lite_r18'
    )
    assert all(k.startswith(('head.fpn_in.2.', 'head.dsn.')) for k in dropped)
    assert (
        sum(
            v.numel()
            for k, v in synthetic('sfnet_lite_r18').items()
            if k in dropped
            and not k.endswith('num_batches_tracked')
            and 'running' not in k
        )
        == 216211
    )
    _, dropped = conv.convert_state_dict(
        synthetic('sfnet_stdc1'), 'sfnet_stdc1'
    )
    assert dropped
    assert all(
        k.startswith(
            (
                'backbone.x',
                'backbone.conv_last.',
                'backbone.fc.',
                'backbone.bn.',
                'backbone.linear.',
            )
        )
        for k in dropped
    )


@pytest.mark.parametrize('name', BACKBONES)
def test_imagenet_backbone_loads_with_pretrained_init(name, tmp_path):
    state = synthetic(f'imagenet_{name}')
    src, dst = tmp_path / 'imagenet.pth', tmp_path / 'backbone.pth'
    torch.save({'state_dict': state} if 'stdc' in name else state, src)
    report = conv.convert(str(src), str(dst), backbone='auto')
    assert report['family'] == name
    family = conv.BACKBONES[name]
    model, cfg = conv.build_reference(family)
    from mmseg.registry import MODELS

    bb_cfg = dict(cfg.model.backbone)
    bb_cfg['init_cfg'] = dict(type='Pretrained', checkpoint=str(dst))
    backbone = MODELS.build(bb_cfg)
    backbone.init_weights()
    loaded = load_checkpoint_file(str(dst), map_location='cpu')
    for key, value in loaded['state_dict'].items():
        assert torch.equal(backbone.state_dict()[key], value), key


# ------------------------------------------------------------ bad input
def assert_refused(tmp_path, dst, *args, match, **kwargs):
    with pytest.raises(conv.ConversionError, match=match):
        conv.convert(*args, **kwargs)
    assert not osp.exists(dst)
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.tmp')]


def test_truncated_file(tmp_path):
    src, dst = tmp_path / 'official.pth', tmp_path / 'out.pth'
    save_released(synthetic('sfnet_r18'), src)
    data = src.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    assert_refused(
        tmp_path, dst, str(src), str(dst), match='cannot read .*official.pth'
    )


def test_wrong_family(tmp_path):
    src, dst = tmp_path / 'stdc.pth', tmp_path / 'out.pth'
    save_released(synthetic('sfnet_stdc1'), src)
    assert_refused(
        tmp_path,
        dst,
        str(src),
        str(dst),
        arch='sfnet_r18',
        match=r'looks like an official sfnet_stdc1 model, not sfnet_r18'
        r'(.|\n)*does not fit the sfseg sfnet_r18 model(.|\n)*'
        r'unknown keys:\n    backbone\.bn\.bias',
    )


def test_renamed_key_is_named(tmp_path):
    state = synthetic('sfnet_r18')
    state['head.fpn_out_align.1.flow_mak.weight'] = state.pop(
        'head.fpn_out_align.1.flow_make.weight'
    )
    src, dst = tmp_path / 'renamed.pth', tmp_path / 'out.pth'
    save_released(state, src)
    with pytest.raises(conv.ConversionError) as err:
        conv.convert(str(src), str(dst))
    msg = str(err.value)
    assert '1 unknown keys' in msg and 'fpn_out_align.1.flow_mak.weight' in msg
    assert (
        '1 missing keys' in msg
        and 'decode_head.fpn.fpn_out_align.1.flow_make.weight' in msg
    )
    assert not dst.exists()


def test_release_without_layer1_downsample(tmp_path):
    # Issue #32 of the official repo: a release with a 64-channel stem.
    state = {
        k: v
        for k, v in synthetic('sfnet_r18').items()
        if not k.startswith('layer1.0.downsample.')
    }
    src, dst = tmp_path / 'r18.pth', tmp_path / 'out.pth'
    save_released(state, src)
    assert_refused(
        tmp_path,
        dst,
        str(src),
        str(dst),
        match=r'missing keys:\n    backbone\.layer1\.0\.downsample\.0\.weight',
    )


def test_shape_mismatch_is_named(tmp_path):
    state = synthetic('sfnet_r18')
    state['head.fpn_in.0.0.weight'] = torch.randn(128, 32, 1, 1)
    src, dst = tmp_path / 'bad.pth', tmp_path / 'out.pth'
    save_released(state, src)
    assert_refused(
        tmp_path,
        dst,
        str(src),
        str(dst),
        match=r'decode_head\.fpn\.fpn_in\.0\.conv\.weight: checkpoint '
        r'\(128, 32, 1, 1\) vs model \(128, 64, 1, 1\)',
    )


def test_no_overwrite_without_force_and_cli_message(tmp_path, capsys):
    src, dst = tmp_path / 'official.pth', tmp_path / 'out.pth'
    save_released(synthetic('sfnet_lite_r18'), src)
    dst.write_bytes(b'keep me')
    with pytest.raises(SystemExit) as err:
        main([str(src), str(dst)])
    assert 'exists; pass --force' in str(err.value)
    assert 'nothing was written' in str(err.value)
    assert dst.read_bytes() == b'keep me'
    main([str(src), str(dst), '--force'])
    assert 'sfnet_lite_r18' in capsys.readouterr().out
    assert load_checkpoint_file(str(dst))['meta']['official_family'] == (
        'sfnet_lite_r18'
    )


def test_not_a_state_dict(tmp_path):
    src, dst = tmp_path / 'list.pth', tmp_path / 'out.pth'
    torch.save([1, 2, 3], src)
    assert_refused(
        tmp_path, dst, str(src), str(dst), match='holds no state_dict'
    )


@pytest.mark.parametrize(
    'family, extra',
    [
        ('sfnet_stdc1', 'backbone.fc.extra'),
        ('sfnet_stdc1', 'backbone.conv_last.conv.bias'),
        ('sfnet_stdc1', 'backbone.x2.0.99.conv.weight'),
        ('sfnet_lite_r18', 'head.dsn.2.weight'),
        ('sfnet_lite_r18', 'head.fpn_in.2.0.scale'),
        ('sfnet_r18', 'fc.weight_v2'),
    ],
)
def test_unexpected_keys_under_dropped_prefixes_are_unknown(
    tmp_path, family, extra
):
    # Only the exact official names of unused tensors are dropped.
    state = synthetic(family)
    state[extra] = torch.zeros(3)
    src, dst = tmp_path / 'official.pth', tmp_path / 'out.pth'
    save_released(state, src)
    assert_refused(
        tmp_path,
        dst,
        str(src),
        str(dst),
        match=r'1 unknown keys:\n    (.|\n)*'
        + re.escape(extra.split('.')[-1]),
    )


def test_alias_with_another_shape_is_unknown(tmp_path):
    state = synthetic('sfnet_stdc1')
    state['backbone.x2.0.0.conv.weight'] = torch.zeros(1)
    src, dst = tmp_path / 'official.pth', tmp_path / 'out.pth'
    save_released(state, src)
    assert_refused(
        tmp_path, dst, str(src), str(dst), match=r'x2\.0\.0\.conv\.weight'
    )


def test_code_carrying_checkpoint_is_refused(tmp_path, code_payload):
    payload, marker = code_payload
    src, dst = tmp_path / 'evil.pth', tmp_path / 'out.pth'
    state = {f'module.{k}': v for k, v in synthetic('sfnet_r18').items()}
    torch.save({'state_dict': state, 'mean_iu': payload}, src)
    with pytest.raises(SystemExit) as err:
        main([str(src), str(dst)])
    assert 'posix.system' in str(err.value)
    assert 'SFSEG_TRUST_CHECKPOINTS=1' in str(err.value)
    assert not marker.exists() and not dst.exists()
