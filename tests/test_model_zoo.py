"""The official weights in the zoo: every metafile ``Weights`` link and
every link on the README pages equals the official README's, as
transcribed in tests/data/official_weights.tsv (section, official name,
quoted mIoU, link, and the sfseg config it runs with, ``imagenet:<name>``
for ImageNet files, ``unmatched`` or ``missing``)."""

import os
import os.path as osp

import pytest
import torch
from common import REPO
from mmengine.config import Config
from mmseg.registry import MODELS

from sfseg.models.official import model_family
from sfseg.models.official.imagenet_init import OFFICIAL_FILES

TABLE = osp.join(REPO, 'tests', 'data', 'official_weights.tsv')
# official name -> the family its model is (SFNet-Lite names say so)
OFFICIAL_NAMES = {
    'resnet18': 'sfnet_r18',
    'sfnet_r18': 'sfnet_r18',
    '+dsn': 'sfnet_r18_dsn',
    'resnet50': 'sfnet_r50',
    'dfnetv1': 'sfnet_df1',
    'dfnetv2': 'sfnet_df2',
    'sfnet_lite_r18': 'sfnet_lite_r18',
    'sfnet_lite_r18_coarse_boost': 'sfnet_lite_r18',
    'sfnet_lite_stdcv1': 'sfnet_lite_stdc1',
    'sfnet_lite_stdcv2': 'sfnet_lite_stdc2',
}


def official_rows():
    with open(TABLE) as f:
        rows = [
            line.rstrip('\n').split('\t')
            for line in f
            if not line.startswith('#')
        ]
    assert all(len(r) == 5 for r in rows)
    return rows


MATCHED = [r for r in official_rows() if r[4].endswith('1024x1024')]


def metafile_models():
    from mim.commands.search import convert2df
    from modelindex.load_model_index import load

    cwd = os.getcwd()
    os.chdir(REPO)  # model-index.yml names its files from the repo root
    try:
        return convert2df(load('model-index.yml'))  # as `mim search` reads
    finally:
        os.chdir(cwd)


def config_path(name):
    folder = 'sfnet_lite' if name.startswith('sfnet-lite') else 'sfnet'
    return osp.join(REPO, 'configs', folder, f'{name}.py')


def read(*path):
    with open(osp.join(REPO, *path)) as f:
        return f.read()


def test_table_rows_are_consistent():
    rows = official_rows()
    assert len(MATCHED) == 17
    for section, name, miou, link, sfseg in rows:
        if sfseg == 'missing':
            assert link == '-', name
            continue
        assert link.startswith(
            ('https://drive.google.com/', 'https://1drv.ms/')
        ), link
        if sfseg.startswith('imagenet:'):
            assert set(sfseg[len('imagenet:') :].split(',')) <= set(
                OFFICIAL_FILES
            )
        elif sfseg != 'unmatched':
            assert osp.isfile(config_path(sfseg)), sfseg
            assert name in OFFICIAL_NAMES, name


def test_metafile_weights_are_the_official_links():
    models = metafile_models()
    by_config = {r[4]: r for r in MATCHED}
    with_weights = models[models['weight'].notna()]
    assert set(with_weights.index) == set(by_config)
    for config, (section, name, miou, link, _) in by_config.items():
        assert models.loc[config, 'weight'] == link, config
        # mim's reader lower-cases the metadata text
        note = models.loc[config, 'official_weights']
        assert note.startswith(
            f'{name} ({section}) in the official readme'.lower()
        )
        if miou != '-':
            assert f'{miou} miou on cityscapes val' in note


@pytest.mark.parametrize('row', MATCHED, ids=[r[4] for r in MATCHED])
def test_each_release_runs_with_a_config_of_its_family(row):
    section, name, _, _, config = row
    with torch.device('meta'):  # keys only, no weights allocated
        model = MODELS.build(Config.fromfile(config_path(config)).model)
    assert model_family(model.state_dict()) == OFFICIAL_NAMES[name]


def test_pages_show_every_link():
    readme = read('README.md')
    pages = {
        'sfnet': read('configs', 'sfnet', 'README.md'),
        'sfnet_lite': read('configs', 'sfnet_lite', 'README.md'),
    }
    training = read('docs', 'training.md')
    for _, name, _, link, sfseg in official_rows():
        if sfseg.startswith('imagenet:'):
            assert link in training, name
        elif sfseg == 'unmatched':
            assert link in pages['sfnet'], name
        elif sfseg != 'missing':
            folder = (
                'sfnet_lite' if sfseg.startswith('sfnet-lite') else 'sfnet'
            )
            assert f'({link})' in readme, name
            assert f'[{sfseg}]({sfseg}.py)' in pages[folder], sfseg
            assert f'({link})' in pages[folder], sfseg
    for backbone, filename in OFFICIAL_FILES.items():
        assert f'`{filename}`' in training, backbone
