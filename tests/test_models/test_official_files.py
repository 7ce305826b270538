"""Official SFSegNets files read wherever sfseg reads a checkpoint: the
family is recognised from the keys, checked against the model, and the
weights equal the converter's output (synthetic files in the official
layouts of sfseg/official_checks/official_keys)."""

import os.path as osp

import pytest
import torch
from common import REPO
from mmengine.config import Config
from mmseg.registry import MODELS

from sfseg.models.official import FAMILIES, model_family
from sfseg.models.official import convert as conv
from sfseg.official_checks.official_layouts import (
    OFFICIAL_KEYS,
    random_state,
    save_released,
    write_official_imagenet,
)
from sfseg.utils import CheckpointMismatchError, load_weights_strictly
from sfseg.utils.checkpoint import read_checkpoint

KEYS = OFFICIAL_KEYS


def official_file(tmp_path, family, name='official.pth'):
    path = str(tmp_path / name)
    save_released(random_state(KEYS, family), path)
    return path


def build(family):
    cfg = Config.fromfile(osp.join(REPO, 'configs', FAMILIES[family].config))
    return MODELS.build(cfg.model)


@pytest.fixture
def log(request, capsys):
    """The text mmengine's current logger writes during the test."""
    from mmengine.logging import MMLogger

    MMLogger.get_instance(f'official_files_{request.node.name}')

    def read():
        out = capsys.readouterr()
        return out.out + out.err

    return read


@pytest.fixture(scope='module')
def r18():
    return build('sfnet_r18')


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_model_family_of_every_layout(family):
    converted, _ = conv.convert_state_dict(random_state(KEYS, family), family)
    assert model_family(converted) == family


def test_no_family_for_models_without_fam():
    state = {'backbone.stem.0.weight': 0, 'decode_head.fpn.fpn_in.0.x': 0}
    assert model_family(state) is None


def test_read_in_memory_equals_the_converter(tmp_path, log):
    src = official_file(tmp_path, 'sfnet_lite_r18', 'lite_r18.pth')
    dst = str(tmp_path / 'converted.pth')
    conv.convert(src, dst)
    log()
    read = read_checkpoint(src)
    assert (
        'lite_r18.pth: an official SFSegNets sfnet_lite_r18 file, read in '
        'memory (194 tensors in sfseg names; 16 tensors the official '
        'model never runs left out)'
    ) in log()
    written = torch.load(dst, weights_only=True)
    assert read['meta'] == written['meta']
    assert read['state_dict'].keys() == written['state_dict'].keys()
    for key, value in written['state_dict'].items():
        assert torch.equal(read['state_dict'][key], value), key


def test_sfseg_files_are_left_alone(tmp_path, r18):
    path = str(tmp_path / 'sfseg.pth')
    torch.save({'state_dict': r18.state_dict(), 'meta': {}}, path)
    read = read_checkpoint(path)
    assert read['meta'] == {} and read['state_dict'].keys() == (
        r18.state_dict().keys()
    )


def test_file_of_another_family_names_both(tmp_path, r18):
    src = official_file(tmp_path, 'sfnet_lite_stdc1', 'stdc.pth')
    with pytest.raises(CheckpointMismatchError) as err:
        load_weights_strictly(r18, src)
    assert str(err.value) == (
        f'{src} does not fit the model: an official SFSegNets '
        'sfnet_lite_stdc1 file, but the config builds sfnet_r18; use it '
        'with configs/sfnet_lite/sfnet-lite_stdc1_8xb2-186k_cityscapes-'
        '1024x1024.py or another sfnet_lite_stdc1 config'
    )


def test_dsn_file_runs_the_model_without_dsn(tmp_path, r18, log):
    src = official_file(tmp_path, 'sfnet_r18_dsn', 'dsn.pth')
    load_weights_strictly(r18, src)
    assert (
        'dsn.pth: its 27 deep-supervision tensors (sfnet_r18_dsn) are not '
        'used by this sfnet_r18 model'
    ) in log()
    state = random_state(KEYS, 'sfnet_r18_dsn')
    for key, value in conv.convert_state_dict(state, 'sfnet_r18_dsn')[
        0
    ].items():
        if not key.startswith('decode_head.dsn.'):
            assert torch.equal(r18.state_dict()[key], value), key


def test_file_without_dsn_is_refused_by_a_dsn_model(tmp_path):
    src = official_file(tmp_path, 'sfnet_r18', 'plain.pth')
    model = build('sfnet_r18_dsn')
    with pytest.raises(
        CheckpointMismatchError,
        match='an official SFSegNets sfnet_r18 file, but the config builds '
        'sfnet_r18_dsn; use it with configs/sfnet/sfnet_r18-d32_',
    ):
        load_weights_strictly(model, src)


def test_imagenet_file_is_explained(tmp_path, r18):
    src = str(tmp_path / 'resnet18-deep-inplane128.pth')
    write_official_imagenet(KEYS, 'resnet18_deep', src)
    with pytest.raises(
        CheckpointMismatchError,
        match=r'an official ImageNet resnet18_deep backbone file '
        r'\(resnet18-deep-inplane128.pth\), not a trained segmentation '
        r'model: training reads it from pretrained/',
    ):
        load_weights_strictly(r18, src)


def test_unknown_official_layout_names_its_keys(tmp_path, r18):
    src = str(tmp_path / 'odd.pth')
    torch.save({'state_dict': {'module.head.odd.weight': torch.ones(2)}}, src)
    with pytest.raises(
        CheckpointMismatchError,
        match=r'odd.pth does not fit the model: .*1 unexpected key\(s\): '
        'head.odd.weight',
    ):
        load_weights_strictly(r18, src)
