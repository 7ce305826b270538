"""Print what pip builds mmcv 2.1.0 from: ``mmcv==2.1.0`` (its source
release on the index), or on Python 3.13 and newer a folder holding that
release with one line of its setup.py mended.

mmcv 2.1.0's ``get_version()`` runs ``mmcv/version.py`` with ``exec``
inside the function and reads ``locals()['__version__']``; since Python
3.13 (PEP 667) ``locals()`` in a function returns a fresh snapshot that
``exec`` did not write to, so the build stops with ``KeyError:
'__version__'``. The mend gives ``exec`` a namespace of its own. pip
cannot fetch the release for us there, since ``pip download`` reads the
package's metadata, which runs that same line, so the tarball is taken
from the index's simple page and checked against the hash PyPI lists.

    python scripts/mmcv_source.py BUILD_DIR [--plan]

``SFSEG_MMCV_SOURCE`` (a requirement, or a folder holding mmcv 2.1.0's
source that builds on this Python) is printed as is: nothing is fetched.
"""

import hashlib
import os
import os.path as osp
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request

SDIST = 'mmcv-2.1.0.tar.gz'
SHA256 = 'd387bcab66b467479b6660310e23746cfc79c6e57acf04094680adb499a5cd3f'
BROKEN = "    return locals()['__version__']\n"
EXEC = "        exec(compile(f.read(), version_file, 'exec'))\n"
MENDED_EXEC = (
    '        namespace = {}\n'
    "        exec(compile(f.read(), version_file, 'exec'), namespace)\n"
)
MENDED_RETURN = "    return namespace['__version__']\n"


def needs_mend():
    return tuple(sys.version_info[:2]) >= (3, 13)


def mend(setup_py):
    """setup.py's text with ``get_version`` reading its own namespace;
    stops when the text is not the release's."""
    if setup_py.count(BROKEN) != 1 or setup_py.count(EXEC) != 1:
        sys.exit(
            'error: mmcv 2.1.0 setup.py: get_version() is not the one '
            'this mend was written for'
        )
    return setup_py.replace(EXEC, MENDED_EXEC).replace(BROKEN, MENDED_RETURN)


def index_url():
    """pip's index, as pip itself is configured."""
    url = os.environ.get('PIP_INDEX_URL')
    if not url:
        proc = subprocess.run(
            [sys.executable, '-m', 'pip', 'config', 'get', 'global.index-url'],
            capture_output=True,
            text=True,
        )
        url = proc.stdout.strip() if proc.returncode == 0 else ''
    return url or 'https://pypi.org/simple'


def sdist_url(index):
    page_url = index.rstrip('/') + '/mmcv/'
    if page_url.startswith('file:'):  # a folder index, read as pip does
        page_url += 'index.html'
    with urllib.request.urlopen(page_url, timeout=60) as page:
        text = page.read().decode('utf-8', 'replace')
    for chunk in text.split('href="')[1:]:
        link = chunk.split('"', 1)[0].split('#', 1)[0]
        if link.rsplit('/', 1)[-1] == SDIST:
            return urllib.parse.urljoin(page_url, link)
    sys.exit(f'error: {page_url} lists no {SDIST}')


def fetch(build_dir, index):
    """Download, check and unpack the release into ``build_dir``; ->
    the folder of its setup.py."""
    os.makedirs(build_dir, exist_ok=True)
    url = sdist_url(index)
    tarball = osp.join(build_dir, SDIST)
    with urllib.request.urlopen(url, timeout=300) as src:
        data = src.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        sys.exit(f'error: {url} has sha256 {digest}, PyPI lists {SHA256}')
    with open(tarball, 'wb') as out:
        out.write(data)
    with tarfile.open(tarball) as tar:
        tar.extractall(build_dir, filter='data')
    return osp.join(build_dir, SDIST[: -len('.tar.gz')])


def main(argv):
    build_dir, plan = argv[1], argv[2:] == ['--plan']
    chosen = os.environ.get('SFSEG_MMCV_SOURCE')
    if chosen:
        print(f'mmcv: {chosen} (SFSEG_MMCV_SOURCE)' if plan else chosen)
        return 0
    if not needs_mend():
        print('mmcv: mmcv==2.1.0 from the index' if plan else 'mmcv==2.1.0')
        return 0
    if plan:
        print(f"mmcv: {SDIST} with setup.py's version line mended (3.13)")
        return 0
    source = fetch(build_dir, index_url())
    setup_py = osp.join(source, 'setup.py')
    with open(setup_py, encoding='utf-8') as f:
        text = mend(f.read())
    with open(setup_py, 'w', encoding='utf-8') as f:
        f.write(text)
    print(source)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
