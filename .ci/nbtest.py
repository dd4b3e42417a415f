"""The test suite behind `make test`.

1. Sync checks: the package must equal what `nbdev_export` makes of the notebooks, every notebook must
   be clean (`nbdev_clean` changes nothing) and README.md must equal the render of nbs/index.ipynb.
   They run on a copy, so a failing check never touches the working tree; each failure says what to do.
2. Every notebook under nbs/ runs through nbdev's `test_nb` (cells flagged `slow`/`cuda` skipped unless
   `--flags` asks for them), two at a time. Without CUDA, TRITON_INTERPRET=1 is set for all of them: the Triton
   kernels' tests (nbs/01a_triton_scan.ipynb) run in Triton's interpreter, which must be on before a process
   first imports triton (a notebook run earlier in the same worker may have imported it).
3. pytest suites, if any (files `nbs/tests/test_*.py`).

Ends with one line `N passed, N failed` and exits non-zero on any failure.
"""
import argparse, io, json, os, re, shutil, subprocess, sys, tempfile, time
from contextlib import redirect_stderr
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _snapshot(root):
    files = list((root / 'nbs').glob('*.ipynb')) + list((root / 'recmamba').rglob('*.py'))
    return {p.relative_to(root): p.read_bytes() for p in files if '.ipynb_checkpoints' not in p.parts}


def _has_outputs(notebook):
    return any(c.get('outputs') for c in json.loads(notebook)['cells'])


def _unclean(path, notebook):
    "What to do about a notebook that nbdev_clean changes (`notebook`: its bytes as saved)."
    if _has_outputs(notebook):
        return (f'{path} was saved by Jupyter with outputs, without nbdev\'s save hook: discard the outputs (`git checkout {path}`, '
                f'or to keep other edits `.venv/bin/jupyter nbconvert --clear-output --inplace {path} && make export`) or clean it '
                'keeping them (`make export`); `make dev` and `make lab` install the hook, which cleans a notebook whenever Jupyter saves it')
    return f'{path} holds metadata or execution counts that nbdev_clean removes: run `make export` and commit'


def sync_checks(root=ROOT):
    "Run nbdev_export, nbdev_clean and the README render on a copy of `root`; every changed file is a failure."
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copytree(root / 'nbs', tmp / 'nbs', ignore=shutil.ignore_patterns('.ipynb_checkpoints', '__pycache__'))
        shutil.copytree(root / 'recmamba', tmp / 'recmamba', ignore=shutil.ignore_patterns('__pycache__'))
        for name in ('settings.ini', 'README.md'):
            if (root / name).exists(): shutil.copy(root / name, tmp / name)
        before = _snapshot(tmp)
        for tool in ('nbdev_export', 'nbdev_clean'):
            proc = subprocess.run([str(BIN / tool)], cwd=tmp, capture_output=True, text=True)
            if proc.returncode: results.append((f'{tool} runs', proc.stderr[-2000:]))
        after = _snapshot(tmp)
        changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
        package = [str(p) for p in changed if p.suffix != '.ipynb']
        results.append(('package in sync with the notebooks (nbdev_export)', '' if not package else ', '.join(package)
                        + ' differ from what nbdev_export makes of the notebooks: run `make export` and commit'))
        results.append(('notebooks clean (nbdev_clean changes nothing)',
                        '\n      '.join(_unclean(p, before[p]) for p in changed if p.suffix == '.ipynb')))
    proc = subprocess.run([sys.executable, str(root / '.ci' / 'readme.py'), '--check'], capture_output=True, text=True)
    results.append(('README.md renders nbs/index.ipynb', proc.stdout + proc.stderr if proc.returncode else ''))
    return [(name, not err, err) for name, err in results]


def _test_notebook(fn, **kwargs):
    "nbdev's `test_nb` on `fn`, keeping what it wrote to stderr: (passed, seconds, the end of the failing cell's traceback)."
    from nbdev.test import test_nb
    err = io.StringIO()
    with redirect_stderr(err): ok, secs = test_nb(fn, **kwargs)
    sys.stderr.write(err.getvalue())
    tail = '' if ok else '\n'.join(re.sub(r'\x1b\[[0-9;]*m', '', err.getvalue()).strip().splitlines()[-25:])
    return ok, secs, tail


def notebook_tests(pattern, flags, workers):
    "Each notebook's (name, passed, why not): the summary repeats a failure's traceback, so a log's tail says what failed."
    from fastcore.parallel import parallel
    from nbdev.config import get_config
    cfg = get_config(path=ROOT)
    files = sorted(p for p in (ROOT / 'nbs').glob(pattern) if p.suffix == '.ipynb')
    skip, force = cfg.tst_flags.split(), flags.split()
    os.chdir(ROOT / 'nbs')
    sys.path.insert(0, str(Path(__file__).parent))
    from nbtest import _test_notebook                # by its module's name: the worker processes unpickle it from there
    outcomes = parallel(_test_notebook, files, skip_flags=skip, force_flags=force, n_workers=min(workers, len(files)),
                        basepath=ROOT, pause=0.01)
    return [(f'nbs/{f.name} ({secs:.0f}s)', ok, tail.replace('\n', '\n      ')) for f, (ok, secs, tail) in zip(files, outcomes)]


def pytest_suites(flags):
    suites = sorted((ROOT / 'nbs' / 'tests').glob('test_*.py'))
    if not suites: return []
    env = dict(os.environ, RECMAMBA_TEST_FLAGS=flags)
    proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-rA', *map(str, suites)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    print(proc.stdout[-6000:], proc.stderr[-3000:], sep='')
    results = []
    for line in proc.stdout.splitlines():
        for word, ok in (('PASSED ', True), ('FAILED ', False), ('ERROR ', False)):
            if line.startswith(word): results.append((line[len(word):].split(' - ')[0], ok, ''))
    if proc.returncode not in (0, 5) and all(ok for _, ok, _ in results):
        results.append(('pytest run', False, f'pytest exited with {proc.returncode}'))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--path', default='*.ipynb', help='glob of notebooks under nbs/ to run')
    ap.add_argument('--flags', default='', help='space separated test flags to run too, e.g. "slow"')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--skip-sync', action='store_true', help='skip the export/clean/README sync checks')
    args = ap.parse_args()
    start = time.time()
    import torch
    if not torch.cuda.is_available(): os.environ.setdefault('TRITON_INTERPRET', '1')
    results = [] if args.skip_sync else sync_checks()
    results += notebook_tests(args.path, args.flags, args.workers)
    results += pytest_suites(args.flags)
    for name, ok, err in results:
        print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f'\n      {err}' if err else ''))
    failed = sum(not ok for _, ok, _ in results)
    print(f'{len(results) - failed} passed, {failed} failed in {time.time() - start:.0f}s')
    sys.exit(1 if failed else 0)


if __name__ == '__main__': main()
