"""The fused scan kernels of several versions of recmamba/scan.py, side by side in one process: each version a git
ref, `.` for the working tree, or a diff FILE (`git diff` of recmamba/) applied to the working tree. Says what a
kernel change does to the forward and the backward with far less of this VM's drift than separate processes.

    .venv/bin/python bench/variants.py . try.diff .                     # batch 128, L = 200, d_state 16; `.` again: the control
    .venv/bin/python bench/variants.py . bench/probes/no-softplus.diff bench/probes/no-gate.diff . --d-state 1 16
    .venv/bin/python bench/variants.py . . --lengths 200 1024           # identical code: what the method resolves

Each version's scan.py is loaded as a module of its own (it imports nothing from the package) with operands as the
Mamba block passes them (a low-rank step of rank ceil(dim / 32), softplus, the gate z). Every repetition calls each
version's forward and then its backward, in an order that rotates from one repetition to the next, so that the
machine's drift falls on all of them alike. It prints each version's median times and, against the first version,
the median of the per-repetition ratios with their quartiles.

In one process numba dispatches the kernels of the first-loaded copy of scan.py faster than those of later copies:
at a one-token input a call took 0.1-0.35 ms in the first and 0.5-1.5 ms in later ones (2 threads, AVX2 EPYC). So a
copy loaded first is left out of the comparison, and every version's per-call time at one token is printed: a ratio
holds where the differences between those are small beside the calls compared (at batch 128 and L = 200 a call takes
10-55 ms). The kernels of identical copies mostly run alike, but not always (nbs/05_bench.ipynb: once, every copy's
forward but the first's ran 1.4x slower): give a run an identical copy (`.` again) as its control. All versions work
on the same operand tensors.

bench/probes/ holds diffs that each take one piece of the per-step work out of the kernels (wrong results, for timing
only), to see what that piece costs, and variants tried and not kept (nbs/01_scan.ipynb). A diff that no longer
applies is refused with git's message.
"""
import argparse, hashlib, importlib.util, math, statistics, sys, time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ab import CACHE, side_path  # noqa: E402


def version_path(spec):
    "The package directory of a version: a git ref or '.', or a diff file applied to the working tree."
    return side_path('.', [], spec) if Path(spec).is_file() else side_path(spec, [])


def scan_copy(package, slot, root=CACHE / 'variants'):
    """Where the copy of `package`'s recmamba/scan.py for `slot` lives, and its module name: a directory of its own per
    content and slot, under `root`, and a name made of both. numba's on-disk cache of a file records the module name
    its kernels were compiled in, so a file must always load under the same name: loading the package's own scan.py
    under another name would leave its cache unreadable for `import recmamba`."""
    data = (Path(package) / 'recmamba' / 'scan.py').read_bytes()
    key = hashlib.sha256(data).hexdigest()[:16]
    path = Path(root) / f'{key}-{slot}' / 'scan.py'
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data: path.write_bytes(data)  # an unchanged file keeps its cache
    return path, f'recmamba_variant_{key}_{slot}'


def load_scan(package, slot):
    "The copy of `package`'s recmamba/scan.py for `slot` (`scan_copy`), loaded."
    path, name = scan_copy(package, slot)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def operands(scan, batch, L, dim, N, seed=0):
    """ScanOperands of `scan` as the Mamba block passes them, the output's gradient, and the buffers the backward
    writes its input and gate gradients into (as the block does: over the output's gradient and the gate)."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)
    rank = math.ceil(dim / 32)
    A = -torch.arange(1, N + 1.0).repeat(dim, 1).T.contiguous()
    ops = scan.ScanOperands(u=r(batch, L, dim), xdbl=r(batch, L, rank + 2 * N), A=A, D=torch.ones(dim),
                            dt_weight=r(rank, dim) * rank ** -0.5, delta_bias=torch.full((dim,), -3.0), z=r(batch, L, dim))
    return ops, r(batch, L, dim), torch.empty(batch, L, dim), torch.empty(batch, L, dim)


def call_times(scan, ops, dout, du, dz):
    """Seconds of one forward and one backward call. The backward writes du over a copy of dout and dz over a copy of
    the gate, as in the block; the copies are made before the clock starts."""
    dz.copy_(ops.z)
    ops = ops._replace(z=dz)
    start = time.perf_counter()
    out, ckpt, _ = scan.numba_scan_forward(ops)
    mid = time.perf_counter()
    du.copy_(dout)
    resumed = time.perf_counter()
    scan.numba_scan_backward(ops, ckpt, du, du=du, dz=dz)
    return mid - start, time.perf_counter() - resumed


def quartiles(values):
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('versions', nargs='+', help='git refs, . (the working tree) or diff files applied to the working tree')
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--lengths', type=int, nargs='+', default=[200])
    ap.add_argument('--d-state', type=int, nargs='+', default=[16])
    ap.add_argument('--dim', type=int, default=128, help='scan channels (d_inner; a multiple of 64)')
    ap.add_argument('--repeats', type=int, default=30, help='repetitions, each calling every version (default 30)')
    ap.add_argument('--threads', type=int, default=None, help="torch's (and so the kernels') threads (default: torch's)")
    args = ap.parse_args(argv)
    if args.dim % 64 or args.dim <= 0: ap.error(f'--dim {args.dim}: the kernels take a positive multiple of 64 channels')
    for flag, values in (('--batch', [args.batch]), ('--lengths', args.lengths), ('--d-state', args.d_state)):
        if min(values) < 1: ap.error(f'{flag}: positive integers, got {values}')
    if args.repeats < 4: ap.error('--repeats: at least 4, for quartiles')
    try: paths = [version_path(v) for v in args.versions]
    except ValueError as e: ap.error(str(e).replace('--patch ', 'diff '))
    if args.threads: torch.set_num_threads(args.threads)
    names = [f'{i}: {v}' for i, v in enumerate(args.versions)]
    modules = [load_scan(paths[0], 'first')] + [load_scan(p, str(i)) for i, p in enumerate(paths)]
    for scan in modules:  # compiles or loads every copy before any clock starts
        call_times(scan, *operands(scan, 1, 8, 64, 2))
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads; batch {args.batch}, {args.dim} channels; '
          f'medians of {args.repeats} rotations, ms; ratios to version 0 (quartiles)')
    for label, scan in zip(['(loaded first, not compared)'] + names, modules):
        case = operands(scan, 1, 1, 64, 1)
        times = [call_times(scan, *case) for _ in range(120)][20:]
        print(f'  per call at one token, {label}: forward {statistics.median(t[0] for t in times) * 1e3:.2f} ms, '
              f'backward {statistics.median(t[1] for t in times) * 1e3:.2f} ms')
    scans = modules[1:]
    for N in args.d_state:
        for L in args.lengths:
            ops, *buffers = operands(scans[0], args.batch, L, args.dim, N)  # the same tensors for every version
            cases = [(scan.ScanOperands(**ops._asdict()), *buffers) for scan in scans]
            times = [[] for _ in scans]
            for k in range(args.repeats + 1):
                for i in [(k + j) % len(scans) for j in range(len(scans))]:
                    t = call_times(scans[i], *cases[i])
                    if k: times[i].append(t)
            print(f'd_state {N}, L = {L}:')
            for i, name in enumerate(names):
                line = f'  {name:30s}'
                for part, label in ((0, 'forward'), (1, 'backward')):
                    ms = statistics.median(t[part] for t in times[i]) * 1e3
                    ratios = [a[part] / b[part] for a, b in zip(times[i], times[0])]
                    lo, hi = quartiles(ratios)
                    line += f'  {label} {ms:8.2f} ({statistics.median(ratios):.2f}x, {lo:.2f}-{hi:.2f})'
                print(line, flush=True)


if __name__ == '__main__':
    main()
