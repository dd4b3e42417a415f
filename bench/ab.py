"""A/B of two versions of recmamba, side by side: a git ref, or the working tree `.`, against another, either with
a diff applied or module constants set. Says whether a change makes the Mamba step (or the scan alone) faster, and what it does to memory.

    .venv/bin/python bench/ab.py HEAD~1 .                                  # the working tree's change, L = 1024, batch 8
    .venv/bin/python bench/ab.py . . --set-b models.CHUNK_TOKENS=16384 --lengths 128 200 512 --batch 32 128
    .venv/bin/python bench/ab.py . . --set-b scan.GROUP=32 --backbones --scans numba --lengths 1024 4096 --d-state 32 16
    .venv/bin/python bench/ab.py . . --patch-b try.diff     # a variant kept as a diff: git diff > try.diff; git stash

The cases are `recmamba bench`'s, with its flags (default here: the `mamba` model case, no scans; --stream, --out,
--name and --baseline do not apply: the table is printed). Every case of each
side runs in a fresh process, as in `recmamba bench`: in one process numba dispatches a copy of the kernels loaded
after the first 0.3–1.2 ms a call more slowly, which would favour one side of a small case (bench/variants.py compares
kernel versions in one process with that in view). Round after round (--rounds, default 3) every case runs
on both sides, A then B in odd rounds and B then A in even ones, so that the machine's drift falls on both. A side's
time is its median over the rounds; the ratio B/A is the median of the ratios within a round (as `time_ratio`'s), printed
with the lowest and highest round; peak memory is torch's CPU allocator's (the largest over the rounds). Run `. .`
first to see what identical code measures on the machine: on a 2-core AMD EPYC VM, 0.87–1.13x over five rounds
(nbs/05_bench.ipynb), so a smaller change is not resolved by a few rounds there.

A side other than the plain working tree is a copy of the package in ~/.cache/recmamba-ab (kept, so that numba's
cache of its kernels is reused next time): the ref's files, or the working tree's for `.`, with `--patch-a/--patch-b`
FILE applied first (a `git diff` of recmamba/: a kernel variant tried without committing it). `--set
MODULE.NAME=VALUE` rewrites the line `NAME = …` of the copy's recmamba/MODULE.py: a kernel constant set at run time
would not reach kernels that numba has cached, but a changed source file is compiled again.
"""
import argparse, contextlib, hashlib, os, re, shutil, statistics, subprocess, sys, tempfile
from pathlib import Path

from recmamba.bench import bench_arguments, case_specs, check_bench_args, describe, merge_rounds, run_in_subprocess

REPO = Path(__file__).resolve().parent.parent
CACHE = Path.home() / '.cache' / 'recmamba-ab'


def parse_set(text):
    "'MODULE.NAME=VALUE' -> (module, name, value), or a ValueError naming the flag's problem."
    match = re.fullmatch(r'(\w+)\.([A-Za-z_]\w*)=(.+)', text)
    if not match: raise ValueError(f'--set-a/--set-b takes MODULE.NAME=VALUE (e.g. scan.GROUP=32), got {text!r}')
    return match.groups()


def _git(*args):
    return subprocess.run(['git', '-C', str(REPO), *args], check=True, capture_output=True, text=True).stdout


def _package_files(ref):
    "{relative path: bytes} of recmamba/*.py at `ref`, or in the working tree for '.'."
    if ref == '.': return {p.relative_to(REPO).as_posix(): p.read_bytes() for p in sorted((REPO / 'recmamba').glob('*.py'))}
    try: names = _git('ls-tree', '--name-only', ref, 'recmamba/').split()
    except subprocess.CalledProcessError as e: raise ValueError(f'{ref!r} is not a git ref here: {e.stderr.strip()}') from None
    return {n: subprocess.run(['git', '-C', str(REPO), 'show', f'{ref}:{n}'], check=True, capture_output=True).stdout
            for n in names if n.endswith('.py')}


def _apply_patch(files, patch):
    "`files` ({path: bytes}) with the unified diff `patch` (a file made by `git diff` in this repository) applied."
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / name).write_bytes(data)
        done = subprocess.run(['git', 'apply', '--unsafe-paths', f'--directory={tmp}', str(Path(patch).resolve())],
                              cwd=tmp, capture_output=True, text=True)
        if done.returncode: raise ValueError(f'--patch {patch}: does not apply: {done.stderr.strip()}')
        return {p.relative_to(tmp).as_posix(): p.read_bytes() for p in sorted(Path(tmp, 'recmamba').glob('*.py'))}


def side_path(ref, sets, patch=None):
    """The directory to put first on PYTHONPATH for one side: the repository for the plain working tree, else a copy
    of the package at `ref` with the diff `patch` and the constants `sets` applied, keyed by its content."""
    if ref == '.' and not sets and not patch: return REPO
    files = _package_files(ref)
    if patch:
        if not Path(patch).is_file(): raise ValueError(f'--patch {patch}: no such file')
        files = _apply_patch(files, patch)
    for module, name, value in sets:
        path = f'recmamba/{module}.py'
        if path not in files: raise ValueError(f'--set {module}.{name}: there is no recmamba/{module}.py at {ref}')
        source, count = re.subn(rf'^{name} = .*$', f'{name} = {value}  # set by bench/ab.py', files[path].decode(), flags=re.M)
        if count != 1: raise ValueError(f'--set {module}.{name}: recmamba/{module}.py at {ref} has {count} lines `{name} = …`, not one')
        files[path] = source.encode()
    key = hashlib.sha256(b''.join(n.encode() + b'\0' + files[n] for n in sorted(files))).hexdigest()[:16]
    root = CACHE / key
    if not (root / '.complete').exists():
        shutil.rmtree(root, ignore_errors=True)
        for name, data in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        (root / '.complete').touch()
    return root


@contextlib.contextmanager
def side_env(path):
    """The processes started inside import recmamba from `path`: it is first on PYTHONPATH and the working directory
    (which `python -c` puts before PYTHONPATH)."""
    before, cwd = os.environ.get('PYTHONPATH'), os.getcwd()
    os.environ['PYTHONPATH'] = os.pathsep.join([str(path)] + ([before] if before else []))
    os.chdir(path)
    try: yield
    finally:
        os.chdir(cwd)
        if before is None: del os.environ['PYTHONPATH']
        else: os.environ['PYTHONPATH'] = before


def check_side(path):
    "Make sure a process with `path` first imports the package from there (an installed copy could shadow it)."
    with side_env(path):
        where = subprocess.run([sys.executable, '-c', 'import recmamba; print(recmamba.__file__)'], check=True,
                               capture_output=True, text=True).stdout.strip()
    if Path(where).resolve().parent != (Path(path) / 'recmamba').resolve():
        raise RuntimeError(f'a process meant to import recmamba from {path} imported {where}')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('a', help='side A: a git ref (HEAD, a commit, a branch) or . for the working tree')
    ap.add_argument('b', help='side B, the same way')
    ap.add_argument('--set-a', nargs='+', default=[], metavar='MODULE.NAME=VALUE', help="constants set in A's copy")
    ap.add_argument('--set-b', nargs='+', default=[], metavar='MODULE.NAME=VALUE', help="constants set in B's copy")
    ap.add_argument('--patch-a', metavar='FILE', help="a diff (git diff of recmamba/) applied to A's copy")
    ap.add_argument('--patch-b', metavar='FILE', help="a diff (git diff of recmamba/) applied to B's copy")
    bench_arguments(ap)
    ap.set_defaults(rounds=3, lengths=[1024], backbones=['mamba'], scans=[])
    args = ap.parse_args(argv)
    try:
        if args.stream is not None: raise ValueError('--stream: bench/ab.py compares training steps and scans, not serving')
        args = check_bench_args(args)
        sides = {'A': side_path(args.a, [parse_set(s) for s in args.set_a], args.patch_a),
                 'B': side_path(args.b, [parse_set(s) for s in args.set_b], args.patch_b)}
    except ValueError as e: ap.error(str(e))
    for path in sides.values(): check_side(path)
    for label, ref, sets, patch in (('A', args.a, args.set_a, args.patch_a), ('B', args.b, args.set_b, args.patch_b)):
        commit = _git('rev-parse', '--short', ref).strip() if ref != '.' else 'working tree'
        changes = ([f'patch {patch}'] if patch else []) + sets
        print(f'{label}: {ref} ({commit}){" with " + ", ".join(changes) if changes else ""}  [{sides[label]}]')
    specs = case_specs(args)
    results = {label: [[] for _ in specs] for label in sides}
    for round_ in range(args.rounds):
        order = ('A', 'B') if round_ % 2 == 0 else ('B', 'A')
        for i, spec in enumerate(specs):
            for label in order:
                with side_env(sides[label]): result = run_in_subprocess(spec, args.timeout)
                if result['status'] != 'ok': sys.exit(f'{label}: {describe(spec, result)}')
                results[label][i].append(result)
                print(f'{label} {describe(spec, result)}  [round {round_ + 1}]', flush=True)
    print('\n| case | L | batch | d_state | A ms | B ms | B/A time (rounds) | A MiB | B MiB | B/A memory |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for i, spec in enumerate(specs):
        a, b = merge_rounds(results['A'][i]), merge_rounds(results['B'][i])
        rounds = [rb['time_ms'] / ra['time_ms'] for ra, rb in zip(results['A'][i], results['B'][i])]
        print(f"| {spec['kind']} {spec['name']} | {spec['length']} | {spec['batch']} | {spec['d_state'] or ''} | "
              f"{a['time_ms']:.1f} | {b['time_ms']:.1f} | {statistics.median(rounds):.2f}x ({min(rounds):.2f}–{max(rounds):.2f}) | "
              f"{a['peak_mib']:.1f} | {b['peak_mib']:.1f} | {b['peak_mib'] / a['peak_mib']:.2f}x |")


if __name__ == '__main__':
    main()
