"""The notebooks as files: what saving one in Jupyter leaves, and what `make test`'s sync check says about it."""
import json, os, shutil, subprocess, sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / '.ci'))
import nbtest


def _as_jupyter_saves(nb):
    "What a JupyterLab session leaves in a notebook: outputs, execution counts, cell and notebook metadata."
    for i, cell in enumerate(nb.cells):
        cell.metadata['scrolled'] = True
        if cell.cell_type == 'code':
            cell.execution_count = i
            cell.outputs = [nbformat.v4.new_output('stream', text=f'cell {i}\n'),
                            nbformat.v4.new_output('execute_result', data={'text/plain': '<Explorer at 0x7f3a2c1d0e50>'}, execution_count=i)]
    nb.metadata['kernelspec'] = dict(name='python3', display_name='Python 3 (ipykernel)', language='python')
    nb.metadata['language_info'] = dict(name='python', version='3.11.2')
    return nb


@pytest.fixture
def project(tmp_path, monkeypatch):
    "A copy of settings.ini and two notebooks, Jupyter's and nbdev's per-user state in tmp_path; the working directory is the copy."
    root = tmp_path / 'project'
    (root / 'nbs').mkdir(parents=True)
    shutil.copy(ROOT / 'settings.ini', root)
    for name in ('run.ipynb', 'explore.ipynb'): shutil.copy(ROOT / 'nbs' / name, root / 'nbs')
    (tmp_path / 'home').mkdir()
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('JUPYTER_DATA_DIR', str(tmp_path / 'data'))
    monkeypatch.chdir(root)   # a server started in the project (`make lab`): nbdev finds settings.ini from the saved path
    return root


def _contents_manager(root):
    "Jupyter's file contents manager configured as `make hooks` leaves ~/.jupyter."
    from jupyter_server.services.contents.filemanager import FileContentsManager
    from traitlets.config.loader import PyFileConfigLoader
    make = subprocess.run(['make', '--no-print-directory', '-C', str(ROOT), '-o', '.venv/.installed-lab', 'hooks'], capture_output=True, text=True)
    assert make.returncode == 0, make.stdout + make.stderr
    config = PyFileConfigLoader('jupyter_server_config.py', path=str(Path.home() / '.jupyter')).load_config()
    manager = FileContentsManager(root_dir=str(root), config=config)
    assert manager.pre_save_hook.__name__ == 'nbdev_clean_jupyter'
    return manager


def _save(manager, path):
    nb = _as_jupyter_saves(manager.get(path)['content'])
    manager.save(dict(type='notebook', format='json', content=nb), path)
    return (Path(manager.root_dir) / path).read_bytes()


def test_saving_through_the_hook_leaves_notebooks_clean(project):
    manager = _contents_manager(project)
    saved = {path: _save(manager, path) for path in ('nbs/run.ipynb', 'nbs/explore.ipynb')}
    subprocess.run([str(BIN / 'nbdev_clean')], cwd=project, check=True, capture_output=True)
    for path, text in saved.items():
        assert (project / path).read_bytes() == text, f'{path}: nbdev_clean changed what the hook saved'   # the sync check passes
        nb = json.loads(text)
        assert all(c.get('execution_count') is None for c in nb['cells']) and 'language_info' not in nb['metadata']
        assert not any('scrolled' in c['metadata'] for c in nb['cells']) and '0x7f3a' not in text.decode()
    tags = [c['metadata'].get('tags') for c in json.loads(saved['nbs/run.ipynb'])['cells']]
    assert ['parameters'] in tags                                       # papermill's parameters cell survives


def test_without_jupyter_hooks_saving_leaves_them_unclean(project):
    settings = project / 'settings.ini'
    settings.write_text(settings.read_text().replace('jupyter_hooks = True', 'jupyter_hooks = False'))
    text = _save(_contents_manager(project), 'nbs/explore.ipynb')
    assert json.loads(text)['metadata']['language_info']


def _copy_project(dest):
    for name in ('nbs', 'recmamba', '.ci'):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints', 'tests'))
    for name in ('settings.ini', 'README.md'): shutil.copy(ROOT / name, dest)
    return dest


def test_sync_check_says_what_to_do(tmp_path):
    root = _copy_project(tmp_path)
    assert [ok for _, ok, _ in nbtest.sync_checks(root)] == [True] * 3
    explore = root / 'nbs' / 'explore.ipynb'
    nbformat.write(_as_jupyter_saves(nbformat.read(explore, as_version=4)), explore)   # saved without the hook
    cli_nb = json.loads((root / 'nbs' / '09_cli.ipynb').read_text())
    cli_nb['metadata']['language_info'] = dict(name='python')                        # metadata only, no outputs
    (root / 'nbs' / '09_cli.ipynb').write_text(json.dumps(cli_nb, indent=1))
    with open(root / 'recmamba' / 'cli.py', 'a') as f: f.write('\nHAND_EDITED = True\n')
    with open(root / 'README.md', 'a') as f: f.write('\nA hand edit.\n')
    results = {name: (ok, err) for name, ok, err in nbtest.sync_checks(root)}
    ok, err = results['package in sync with the notebooks (nbdev_export)']
    assert not ok and err.startswith('recmamba/cli.py differ') and err.endswith('run `make export` and commit'), err
    ok, err = results['notebooks clean (nbdev_clean changes nothing)']
    metadata, outputs = err.split('\n      ')   # one line per notebook, sorted
    assert not ok and outputs.startswith('nbs/explore.ipynb was saved by Jupyter with outputs')
    assert 'discard the outputs (`git checkout nbs/explore.ipynb`' in outputs and '`make dev` and `make lab` install the hook' in outputs
    assert metadata == 'nbs/09_cli.ipynb holds metadata or execution counts that nbdev_clean removes: run `make export` and commit'
    ok, err = results['README.md renders nbs/index.ipynb']
    assert not ok and 'run `make readme`' in err, err
