"""ImageNet initialisation from the official files (SFImageNetInit): every
backbone tensor from the file, strictly, with clear refusals. The files
are written in the official layout (key names, shapes and wrapping of the
official releases, random values; tables in
sfseg/official_checks/official_keys)."""

import copy
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from common import REPO
from mmengine.config import Config
from mmengine.registry import init_default_scope

from sfseg.engine import skip_imagenet_init_when_loading
from sfseg.models.official import FAMILIES
from sfseg.models.official.imagenet_init import (
    FROM_SCRATCH,
    OFFICIAL_FILES,
    PRETRAINED_ENV,
    PretrainedInitError,
    official_backbone,
)
from sfseg.models.official.keys import BACKBONES, map_backbone_key
from sfseg.official_checks import official_layouts
from sfseg.official_checks.official_layouts import OFFICIAL_KEYS

CHECK = osp.join(REPO, 'tools', 'analysis_tools', 'check_imagenet_init.py')
TABLES = OFFICIAL_KEYS


def write_official_imagenet(name, path, seed=0):
    return official_layouts.write_official_imagenet(TABLES, name, path, seed)


# backbone tensors (parameters and buffers) each family's config builds
TENSORS = {
    'resnet18_deep': 138,
    'resnet50_deep': 330,
    'resnet101_deep': 636,
    'stdc1': 174,
    'stdc2': 318,
    'dfnet1': 156,
    'dfnet2': 288,
}
BY_BACKBONE = {}
for _family in FAMILIES.values():
    BY_BACKBONE.setdefault(_family.imagenet, _family.config)


def config_path(config):
    return osp.join(REPO, 'configs', config)


def build_backbone(config, **init):
    from mmseg.registry import MODELS

    init_default_scope('mmseg')
    cfg = Config.fromfile(config_path(config))
    backbone = dict(cfg.model.backbone)
    backbone['norm_cfg'] = dict(type='BN', requires_grad=True)
    backbone['init_cfg'] = dict(backbone['init_cfg'], **init)
    return MODELS.build(backbone)


@pytest.fixture
def pretrained(tmp_path, monkeypatch):
    folder = tmp_path / 'pretrained'
    folder.mkdir()
    monkeypatch.setenv(PRETRAINED_ENV, str(folder))
    return folder


@pytest.mark.parametrize('name', sorted(BY_BACKBONE))
def test_every_backbone_tensor_comes_from_the_official_file(name, pretrained):
    state = write_official_imagenet(name, pretrained / OFFICIAL_FILES[name])
    backbone = build_backbone(BY_BACKBONE[name])
    assert official_backbone(backbone) == name
    backbone.init_weights()
    loaded = backbone.state_dict()
    assert len(loaded) == TENSORS[name]
    family = BACKBONES[name]
    filled = set()
    for key, value in state.items():
        new = map_backbone_key(key, family, state)
        if new is not None:
            # mmengine initialises children after a custom init_cfg:
            # nothing may overwrite what came from the file
            assert torch.equal(loaded[new], value), key
            filled.add(new)
    assert filled == set(loaded)


def test_log_counts_the_tensors(pretrained, capsys):
    from mmengine.logging import MMLogger

    MMLogger.get_instance('sfseg_imagenet_test', log_level='INFO')
    write_official_imagenet('dfnet1', pretrained / 'df1_imagenet.pth')
    build_backbone(BY_BACKBONE['dfnet1']).init_weights()
    out = capsys.readouterr()
    path = pretrained / 'df1_imagenet.pth'
    assert f'backbone initialised from {path}: 156/156 tensors' in (
        out.out + out.err
    )


def test_missing_bn_counters_keep_their_value(pretrained):
    """Files saved before BN counted its steps have no num_batches_tracked
    (torch fills them when loading such files)."""
    path = pretrained / OFFICIAL_FILES['resnet18_deep']
    state = write_official_imagenet('resnet18_deep', path)
    state = {k: v for k, v in state.items() if 'num_batches' not in k}
    torch.save(state, path)
    backbone = build_backbone(BY_BACKBONE['resnet18_deep'])
    backbone.init_weights()
    assert torch.equal(
        backbone.state_dict()['stem.0.weight'], state['conv1.0.weight']
    )


@pytest.mark.parametrize(
    'family', ['sfnet_r18', 'sfnet_stdc1', 'sfnet_df1', 'sfnet_lite_r18']
)
def test_another_familys_file_is_refused_naming_keys(family, pretrained):
    config, name = FAMILIES[family].config, FAMILIES[family].imagenet
    other = 'stdc1' if 'resnet' in name else 'resnet18_deep'
    path = pretrained / OFFICIAL_FILES[name]
    state = write_official_imagenet(other, path)
    backbone = build_backbone(config)
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    mapped = {map_backbone_key(k, BACKBONES[name], state) for k in state}
    with pytest.raises(PretrainedInitError) as err:
        backbone.init_weights()
    msg = str(err.value)
    assert f'{path} does not fit the {name} backbone' in msg
    assert f'looks like the {other} ImageNet weights' in msg
    assert 'unexpected keys: ' in msg and 'missing keys: ' in msg
    # the keys themselves are named (the first ten of each, sorted)
    assert min(mapped - set(before) - {None}) in msg
    assert min(set(before) - mapped) in msg
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_not_a_checkpoint_and_truncated_files_name_the_file(pretrained):
    path = pretrained / OFFICIAL_FILES['stdc1']
    write_official_imagenet('stdc1', path)
    data = path.read_bytes()
    backbone = build_backbone(BY_BACKBONE['stdc1'])
    for bad, said in (
        (data[: len(data) // 2], f'cannot read {path}'),
        # a Drive link fetched without a browser: its HTML page
        (b'\n<!DOCTYPE html><html>', f'{path} is a web page, not a'),
        (b'', f'{path} is empty'),
    ):
        path.write_bytes(bad)
        with pytest.raises(PretrainedInitError, match=said):
            backbone.init_weights()
        backbone._is_init = False
    torch.save({'state_dict': {'epoch': 3}}, path)
    with pytest.raises(PretrainedInitError, match=f'{path} holds no state'):
        backbone.init_weights()


def test_missing_file_and_missing_folder(tmp_path, monkeypatch):
    config = BY_BACKBONE['resnet18_deep']
    monkeypatch.setenv(PRETRAINED_ENV, str(tmp_path / 'nowhere'))
    with pytest.raises(PretrainedInitError) as err:
        build_backbone(config).init_weights()
    msg = str(err.value)
    assert (
        f'the pretrained folder {tmp_path / "nowhere"} does not exist' in msg
    )
    (tmp_path / 'nowhere').mkdir()
    with pytest.raises(PretrainedInitError) as err:
        build_backbone(config).init_weights()
    msg = str(err.value)
    path = tmp_path / 'nowhere' / 'resnet18-deep-inplane128.pth'
    assert f'{path} not found' in msg
    assert 'https://github.com/lxtGH/SFSegNets' in msg
    assert FROM_SCRATCH in msg


def test_where_the_file_is_read_from(tmp_path, monkeypatch):
    """init_cfg.pretrained_dir, else $SFSEG_PRETRAINED_DIR, else
    ./pretrained."""
    name = 'dfnet1'
    for sub in ('cwd/pretrained', 'env', 'cfg'):
        (tmp_path / sub).mkdir(parents=True)
    seeds = {'cwd/pretrained': 1, 'env': 2, 'cfg': 3}
    files = {
        sub: write_official_imagenet(
            name, tmp_path / sub / OFFICIAL_FILES[name], seed=seed
        )
        for sub, seed in seeds.items()
    }
    monkeypatch.chdir(tmp_path / 'cwd')
    monkeypatch.delenv(PRETRAINED_ENV, raising=False)

    def first_weight(**init):
        backbone = build_backbone(BY_BACKBONE[name], **init)
        backbone.init_weights()
        return backbone.state_dict()['stage1.0.weight']

    assert torch.equal(
        first_weight(), files['cwd/pretrained']['stage1.0.weight']
    )
    monkeypatch.setenv(PRETRAINED_ENV, str(tmp_path / 'env'))
    assert torch.equal(first_weight(), files['env']['stage1.0.weight'])
    assert torch.equal(
        first_weight(pretrained_dir=str(tmp_path / 'cfg')),
        files['cfg']['stage1.0.weight'],
    )


def test_from_scratch_option_and_checkpoint_runs_skip_it(tmp_path):
    base = Config.fromfile(config_path(BY_BACKBONE['resnet18_deep']))
    assert base.model.backbone.init_cfg == dict(type='SFImageNetInit')
    scratch = copy.deepcopy(base)
    scratch.merge_from_dict({'model.backbone.init_cfg': None})
    assert scratch.model.backbone.init_cfg is None

    cfg = copy.deepcopy(base)
    cfg.work_dir = str(tmp_path)
    cfg.resume = True  # nothing to resume yet: ImageNet it is
    assert skip_imagenet_init_when_loading(cfg) == []
    assert cfg.model.backbone.init_cfg is not None
    torch.save({'meta': {'iter': 8}}, tmp_path / 'iter_8.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_8.pth'))
    assert skip_imagenet_init_when_loading(cfg) == ['model.backbone']
    assert cfg.model.backbone.init_cfg is None
    cfg = copy.deepcopy(base)
    cfg.load_from = 'uds.pth'
    assert skip_imagenet_init_when_loading(cfg) == ['model.backbone']


def test_mim_train_initialises_and_refuses(toy_city):
    """``mim train sfseg`` of the official Cityscapes configs, 2 iterations
    each from ./pretrained; for SFNet-R18 another family's file and an
    empty folder are refused before the first iteration
    (check_imagenet_init.py runs every family and check)."""
    families = ['sfnet_r18', 'sfnet_stdc1', 'sfnet_df1', 'sfnet_lite_r18']
    proc = subprocess.run(
        [sys.executable, CHECK, '--json', '--quick', '--data-root', toy_city]
        + ['--families']
        + families,
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, OMP_NUM_THREADS='1'),
    )
    reports = [
        json.loads(line)
        for line in proc.stdout.splitlines()
        if line.startswith('{')
    ]
    assert [r['family'] for r in reports] == families, proc.stderr[-3000:]
    for report in reports:
        name = report['backbone']
        assert report['trained'], report.get('output')
        assert report['loaded'] == report['tensors'] == TENSORS[name]
        assert report['from_file'].endswith(
            osp.join('pretrained', OFFICIAL_FILES[name])
        )
        assert report['ok'], report
    # mim train stops before the first iteration, naming keys / the file
    assert reports[0]['wrong_family_refused'], reports[0]
    assert reports[0]['missing_refused'], reports[0]
    assert proc.returncode == 0
