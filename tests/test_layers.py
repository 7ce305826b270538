"""The layers of docs/architecture.md hold in the code.

The table under "Layers and the direction of dependencies" ranks every
package of ``sfseg/``; a file may import only from packages of the same
or a lower rank, and no import cycle may join two files. Every import
of ``sfseg/`` is read from the syntax tree, those inside functions
included.
"""

import ast
import os
import os.path as osp
import re

import pytest
from common import REPO

DOC = osp.join(REPO, 'docs', 'architecture.md')
ROW = re.compile(r'^\| (\d+) \| `(sfseg/[^`]*)` \|')


def layer_table(doc=DOC):
    """``{path prefix: rank}`` from the architecture page's table."""
    with open(doc) as f:
        rows = [ROW.match(line) for line in f]
    table = {m.group(2): int(m.group(1)) for m in rows if m}
    if not table:
        raise AssertionError(f'{doc}: no layer table found')
    return table


def module_files(root):
    """``{dotted module name: file}`` of every file under ``root/sfseg``."""
    files = {}
    for folder, dirs, names in os.walk(osp.join(root, 'sfseg')):
        dirs[:] = [d for d in dirs if not d.startswith(('.', '__'))]
        for name in names:
            if not name.endswith('.py'):
                continue
            path = osp.join(folder, name)
            module = osp.relpath(path, root)[:-3].replace(os.sep, '.')
            files[module.removesuffix('.__init__')] = path
    return files


def imports_of(module, path, files):
    """``[(line, imported module)]`` of the sfseg modules ``path`` imports
    (a name imported from a package counts as its submodule when it is
    one)."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    package = (
        module if path.endswith('__init__.py') else (module.rpartition('.')[0])
    )
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = package.split('.')
                parts = parts[: len(parts) - node.level + 1]
                base = '.'.join(parts + ([base] if base else []))
            for alias in node.names:
                sub = f'{base}.{alias.name}'
                found.append((node.lineno, sub if sub in files else base))
    found = dict.fromkeys(found)  # one report per imported module and line
    return [(line, m) for line, m in found if m.split('.')[0] == 'sfseg']


def layer_of(path, table, root):
    rel = osp.relpath(path, root).replace(os.sep, '/')
    prefixes = [p for p in table if rel == p or rel.startswith(p)]
    if not prefixes:
        raise AssertionError(f'{rel} is in no layer of {DOC}')
    best = max(prefixes, key=len)
    return best, table[best]


def target_file(module, files):
    """The file ``module`` names (a module, or a package's __init__)."""
    while module and module not in files:
        module = module.rpartition('.')[0]
    return files.get(module)


def layer_violations(root=REPO, table=None):
    """Messages for every import the table forbids."""
    table = table or layer_table()
    files = module_files(root)
    errors = []
    for module, path in sorted(files.items()):
        layer, rank = layer_of(path, table, root)
        for line, imported in imports_of(module, path, files):
            target = target_file(imported, files)
            if target is None:
                errors.append(f'{path}:{line}: {imported} does not exist')
                continue
            other, other_rank = layer_of(target, table, root)
            if other_rank > rank:
                errors.append(
                    f'{osp.relpath(path, root)}:{line} imports {imported}: '
                    f'{layer} (rank {rank}) may not import {other} '
                    f'(rank {other_rank})'
                )
    return errors


def import_cycles(root=REPO):
    """Every set of files that import each other round a loop (Tarjan's
    strongly connected components, as lists of module names)."""
    files = module_files(root)
    graph = {
        m: {
            target_file(i, files)
            for _, i in imports_of(m, path, files)
            if target_file(i, files) not in (None, path)
        }
        for m, path in files.items()
    }
    by_path = {path: m for m, path in files.items()}
    graph = {m: {by_path[p] for p in deps} for m, deps in graph.items()}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_every_import_follows_the_layer_table():
    assert layer_violations() == []


def test_no_import_cycle_between_files():
    assert import_cycles() == []


def test_table_covers_every_package():
    table = layer_table()
    assert table['sfseg/utils/'] == 0
    assert table['sfseg/models/'] < table['sfseg/acceleration/']
    assert table['sfseg/apis/'] < table['sfseg/det/']
    for folder in os.listdir(osp.join(REPO, 'sfseg')):
        if osp.isfile(osp.join(REPO, 'sfseg', folder, '__init__.py')):
            assert f'sfseg/{folder}/' in table, folder


@pytest.fixture
def planted(tmp_path):
    """A copy of ``sfseg/`` with one extra file per planted import."""
    import shutil

    shutil.copytree(
        osp.join(REPO, 'sfseg'),
        tmp_path / 'sfseg',
        ignore=shutil.ignore_patterns('__pycache__', '.mim'),
    )

    def plant(relpath, text):
        (tmp_path / relpath).write_text(text)
        return tmp_path

    return plant


def test_a_back_import_is_reported(planted):
    root = planted(
        'sfseg/models/utils/planted.py',
        'def f():\n    from sfseg.apis import init_model\n',
    )
    errors = layer_violations(str(root))
    assert errors == [
        'sfseg/models/utils/planted.py:2 imports sfseg.apis: sfseg/models/ '
        '(rank 1) may not import sfseg/apis/ (rank 5)'
    ]


def test_a_cycle_is_reported(planted):
    root = planted('sfseg/utils/planted_a.py', 'from . import planted_b\n')
    (root / 'sfseg/utils/planted_b.py').write_text(
        'from sfseg.utils.planted_a import x\n'
    )
    assert import_cycles(str(root)) == [
        ['sfseg.utils.planted_a', 'sfseg.utils.planted_b']
    ]
