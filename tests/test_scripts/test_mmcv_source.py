"""scripts/mmcv_source.py: Python 3.13 builds mmcv 2.1.0 from its source
release, checked against PyPI's hash, with get_version() mended."""

import hashlib
import importlib.util
import io
import os.path as osp
import tarfile

import pytest
from common import REPO


@pytest.fixture
def source(monkeypatch):
    monkeypatch.delenv('SFSEG_MMCV_SOURCE', raising=False)
    spec = importlib.util.spec_from_file_location(
        'mmcv_source', osp.join(REPO, 'scripts', 'mmcv_source.py')
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def release_setup_py(module):
    """A setup.py whose get_version() is the release's, rebuilt from the
    lines the mend expects."""
    return (
        'def get_version():\n'
        "    version_file = 'mmcv/version.py'\n"
        "    with open(version_file, encoding='utf-8') as f:\n"
        + module.EXEC
        + module.BROKEN
    )


def fake_index(module, root, setup_py):
    """A folder index with an mmcv page and a tarball of ``setup_py``
    and mmcv/version.py; -> (index URL, the tarball's sha256)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for name, text in [
            ('setup.py', setup_py),
            ('mmcv/version.py', "__version__ = '2.1.0'\n"),
        ]:
            data = text.encode()
            info = tarfile.TarInfo(f'mmcv-2.1.0/{name}')
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    files = root / 'files'
    files.mkdir()
    (files / module.SDIST).write_bytes(buf.getvalue())
    page = root / 'simple' / 'mmcv'
    page.mkdir(parents=True)
    (page / 'index.html').write_text(
        '<a href="../../files/mmcv-2.0.0.tar.gz">old</a>\n'
        f'<a href="../../files/{module.SDIST}#sha256=x">{module.SDIST}</a>\n'
    )
    return (root / 'simple').as_uri(), hashlib.sha256(buf.getvalue())


def test_python_3_13_gets_the_mended_release(source, tmp_path, monkeypatch,
                                             capsys):  # fmt: skip
    index, digest = fake_index(source, tmp_path, release_setup_py(source))
    monkeypatch.setenv('PIP_INDEX_URL', index)
    monkeypatch.setattr(source, 'SHA256', digest.hexdigest())
    monkeypatch.setattr(source.sys, 'version_info', (3, 13, 0))
    build = tmp_path / 'build'
    assert source.main(['mmcv_source.py', str(build)]) == 0
    folder = capsys.readouterr().out.strip()
    assert folder == str(build / 'mmcv-2.1.0')
    text = (build / 'mmcv-2.1.0' / 'setup.py').read_text()
    assert "locals()['__version__']" not in text
    # the mended get_version() reads the version on this Python too
    namespace = {}
    exec(text, namespace)
    monkeypatch.chdir(folder)
    assert namespace['get_version']() == '2.1.0'


def test_older_pythons_take_the_index_release(source, capsys, monkeypatch):
    monkeypatch.setattr(source.sys, 'version_info', (3, 12, 4))
    assert source.main(['mmcv_source.py', 'unused']) == 0
    assert capsys.readouterr().out == 'mmcv==2.1.0\n'
    monkeypatch.setattr(source.sys, 'version_info', (3, 13, 1))
    assert source.main(['mmcv_source.py', 'unused', '--plan']) == 0
    assert 'mended' in capsys.readouterr().out


def test_a_chosen_source_is_taken_as_is(source, capsys, monkeypatch):
    monkeypatch.setenv('SFSEG_MMCV_SOURCE', '/src/mmcv-2.1.0')
    monkeypatch.setattr(source.sys, 'version_info', (3, 13, 0))
    assert source.main(['mmcv_source.py', 'unused']) == 0
    assert capsys.readouterr().out == '/src/mmcv-2.1.0\n'


def test_a_tarball_of_other_bytes_is_refused(source, tmp_path, monkeypatch):
    index, digest = fake_index(source, tmp_path, release_setup_py(source))
    monkeypatch.setenv('PIP_INDEX_URL', index)
    monkeypatch.setattr(source.sys, 'version_info', (3, 13, 0))
    with pytest.raises(SystemExit, match=f'has sha256 {digest.hexdigest()}'):
        source.main(['mmcv_source.py', str(tmp_path / 'build')])


def test_another_setup_py_is_not_mended(source):
    with pytest.raises(SystemExit, match='not the one this mend was written'):
        source.mend('def get_version():\n    return "2.1.0"\n')
