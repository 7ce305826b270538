"""Install sfseg; wheels and sdists carry configs/ and tools/ for mim.

``mim train sfseg <config>`` looks for ``sfseg/.mim/{configs,tools}`` in the
installed package, so a non-editable install (``pip install .``) is needed
for mim. An editable (PEP 660) install works for Python but not for mim.
"""

import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

MIM_FILES = ('configs', 'tools', 'model-index.yml')


def read_version():
    scope = {}
    with open(osp.join('sfseg', 'version.py')) as f:
        exec(compile(f.read(), 'sfseg/version.py', 'exec'), scope)
    return scope['__version__']


def read_requirements(path):
    with open(path) as f:
        return [
            line.split('#')[0].strip()
            for line in f
            if line.split('#')[0].strip()
        ]


def add_mim_extension():
    """Copy (wheel/sdist) or link (develop) mim files into sfseg/.mim."""
    if 'develop' in sys.argv:
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('sdist', 'bdist_wheel')):
        mode = 'copy'
    else:
        return
    repo = osp.dirname(osp.abspath(__file__))
    mim_root = osp.join(repo, 'sfseg', '.mim')
    os.makedirs(mim_root, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(repo, name)
        dst = osp.join(mim_root, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_root), dst)
        elif osp.isdir(src):
            shutil.copytree(
                src, dst, ignore=shutil.ignore_patterns('__pycache__')
            )
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='sfseg',
        version=read_version(),
        description='SFNet and SFNet-Lite semantic-flow segmentation '
        'for MMSegmentation 1.x and MMDetection 3.x',
        long_description=open('README.md').read(),
        long_description_content_type='text/markdown',
        license='Apache License 2.0',
        packages=find_packages(exclude=('configs', 'tools', 'tests')),
        include_package_data=True,
        python_requires='>=3.10',
        install_requires=read_requirements('requirements/runtime.txt'),
        extras_require={
            'mim': ['mmcv>=2.0.0rc4,<2.2.0'],
            'deploy': read_requirements('requirements/deploy.txt'),
            'tests': read_requirements('requirements/tests.txt')
            + read_requirements('requirements/deploy.txt'),
        },
        zip_safe=False,
    )
