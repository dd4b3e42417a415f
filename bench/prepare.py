"""Benchmark of `recmamba prepare` on a KuaiRand-format log, against the two obvious alternatives.

Generates a KuaiRand `log_standard`-format CSV (19 columns, users interleaved in time order, Zipf-popular videos)
and times, each in a fresh process, the same job done several ways: read, stable sort by (user, time), re-index
items to 1..N and users to 0..U-1, write the item array and per-user offsets.

  recmamba   `recmamba.data.prepare` (also writes timestamps, id maps, manifest and content hash); its integer
             columns are parsed by the numba kernel of the formats notebook
  polars     the same `prepare` with that kernel switched off, so polars' CSV reader parses every block (the
             field counts are then checked with numpy): the kernel is kept only if it is needed for the goals
  pandas     a straightforward pandas pipeline (read_csv, stable sort_values, factorize, numpy save)
  lines      the original Rec-Mamba approach: split each line, append to per-user lists, sort, write

It checks that all produce identical arrays and prints rows/s, the ratios and each process's peak RSS. Then, out of
core, it runs `prepare --memory-limit` on a bigger file and prints its time and peak RSS. `--style excel` writes
the same rows as Excel exports them (a byte-order mark, CRLF line ends, every field quoted; `lines` cannot read
that and is left out).

Before timing, `prepare` runs once on a small file so that numba's compiled kernels are in its on-disk cache (a
one-time cost after installing or re-exporting the package, ~20 CPU-s); the timed runs still load them. With
`--repeat`, the methods take turns (round robin), so a change in the machine's load hits all of them alike. On a
busy machine the wall-clock ratios shrink towards the CPU-time ratios (polars and numba use every core, pandas and
the line-by-line loop one), so both are printed.

    .venv/bin/python bench/prepare.py                        # 20M rows, then 60M rows with --memory-limit 1GB
    .venv/bin/python bench/prepare.py --rows 2000000 --ooc-rows 4000000 --memory-limit 200MB   # a quick check
    .venv/bin/python bench/prepare.py --style excel --methods recmamba,polars,pandas --ooc-rows 0

Goals (issue 2): recmamba >= 10x the line-by-line rows/s and >= 2.5x the pandas rows/s, peak RSS <= 2 GB at 20M
rows; the out-of-core run succeeds within its memory limit. The ratios are printed for `polars` too.
"""
import argparse, json, os, resource, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np

COLUMNS = ('user_id,video_id,date,hourmin,time_ms,is_click,is_like,is_follow,is_comment,is_forward,is_hate,long_view,'
           'play_time_ms,duration_ms,profile_stay_time,comment_stay_time,is_profile_enter,is_rand,tab').split(',')
USERS, VIDEOS, START_MS, SPAN_MS = 27_285, 8_000_000, 1_649_376_000_000, 14 * 86_400_000


def generate(path, rows, seed=0, chunk=2_000_000, style='plain'):
    """Write a KuaiRand-format log of `rows` rows: time order with local jitter, users interleaved, Zipf videos;
    style 'excel': with a byte-order mark, CRLF line ends and every field quoted."""
    import polars as pl
    rng = np.random.default_rng(seed)
    excel = style == 'excel'
    with open(path, 'wb') as f:
        f.write((b'\xef\xbb\xbf' if excel else b'') + (','.join(f'"{c}"' if excel else c for c in COLUMNS) +
                                                        ('\r\n' if excel else '\n')).encode())
        for lo in range(0, rows, chunk):
            n = min(chunk, rows - lo)
            t = np.sort(START_MS + (lo + rng.random(n) * n) * SPAN_MS // rows).astype(np.int64)
            jitter = np.argsort(np.arange(n) // 64 + rng.random(n), kind='stable')   # shuffle within blocks of 64
            t = t[jitter]
            dt = (t - START_MS) // 1000
            play = rng.integers(0, 60_000, n)
            cols = {'user_id': rng.integers(0, USERS, n), 'video_id': rng.zipf(1.2, n) % VIDEOS * 7919 % VIDEOS,
                    'date': 20220408 + dt // 86400, 'hourmin': (dt % 86400) // 3600 * 100,
                    'time_ms': t, 'is_click': (rng.random(n) < 0.4).astype(np.int8)}
            cols |= {c: (rng.random(n) < 0.02).astype(np.int8) for c in COLUMNS[6:11]}
            cols |= {'long_view': (play > 18_000).astype(np.int8), 'play_time_ms': play,
                     'duration_ms': rng.integers(3_000, 120_000, n), 'profile_stay_time': np.zeros(n, np.int8),
                     'comment_stay_time': np.zeros(n, np.int8), 'is_profile_enter': np.zeros(n, np.int8),
                     'is_rand': (rng.random(n) < 0.004).astype(np.int8), 'tab': rng.integers(0, 15, n)}
            pl.DataFrame(cols).write_csv(f, include_header=False, quote_style='always' if excel else 'necessary',
                                         line_terminator='\r\n' if excel else '\n')


# The three methods. Each runs in its own process (see `child`) and writes items.npy and offsets.npy into `out`.

def run_recmamba(file, out, memory_limit=None):
    from recmamba.data import Options, prepare
    from recmamba.formats import kuairand_source
    prepare(kuairand_source([file]), out, Options(memory_limit=memory_limit), overwrite=True)


def run_polars(file, out, memory_limit=None):
    import recmamba.formats
    recmamba.formats._integer_rows = lambda f, block: None          # every block goes to polars' reader
    run_recmamba(file, out, memory_limit)


def run_pandas(file, out):
    import pandas as pd
    df = pd.read_csv(file, usecols=['user_id', 'video_id', 'time_ms'])
    df = df.sort_values(['user_id', 'time_ms'], kind='stable')
    codes, _ = pd.factorize(df['video_id'], sort=True)
    lengths = df.groupby('user_id', sort=True).size().to_numpy()
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / 'items.npy', (codes + 1).astype(np.int32))
    np.save(out / 'offsets.npy', np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))


def run_lines(file, out):
    histories = {}
    with open(file) as f:
        header = f.readline().rstrip('\n').split(',')
        iu, iv, it = header.index('user_id'), header.index('video_id'), header.index('time_ms')
        for line in f:
            fields = line.split(',')
            histories.setdefault(int(fields[iu]), []).append((int(fields[it]), int(fields[iv])))
    ids = {v: i + 1 for i, v in enumerate(sorted({v for h in histories.values() for _, v in h}))}
    items, offsets = [], [0]
    for user in sorted(histories):
        history = sorted(histories[user], key=lambda tv: tv[0])      # stable: equal times keep file order
        items.extend(ids[v] for _, v in history)
        offsets.append(len(items))
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / 'items.npy', np.array(items, np.int32))
    np.save(out / 'offsets.npy', np.array(offsets, np.int64))


METHODS = {'recmamba': ('recmamba prepare (kernel)', run_recmamba), 'polars': ('recmamba, polars reader only', run_polars),
           'pandas': ('pandas pipeline', run_pandas), 'lines': ('line-by-line Python (original)', run_lines)}


def child(method, file, out, memory_limit):
    "Entry point of a measuring subprocess: run one method, print seconds and peak RSS as JSON."
    fn = METHODS[method][1]
    kwargs = {'memory_limit': memory_limit} if memory_limit else {}
    cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    start, start_cpu = time.perf_counter(), cpu()
    fn(Path(file), Path(out), **kwargs)
    seconds, cpu_seconds = time.perf_counter() - start, cpu() - start_cpu
    print(json.dumps({'seconds': seconds, 'cpu_seconds': cpu_seconds,
                      'peak_rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def measure(method, file, out, memory_limit=None):
    cmd = [sys.executable, __file__, '--child', method, str(file), str(out)] + ([str(memory_limit)] if memory_limit else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode: sys.exit(f'{method} failed:\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def same_output(a, b):
    return all(np.array_equal(np.load(a / n, mmap_mode='r'), np.load(b / n, mmap_mode='r')) for n in ('items.npy', 'offsets.npy'))


def gb(n): return f'{n / 1e9:.2f} GB'


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--rows', type=int, default=20_000_000, help='rows of the main benchmark file (default 20M)')
    ap.add_argument('--ooc-rows', type=int, default=60_000_000, help='rows of the out-of-core file (default 60M; 0 skips)')
    ap.add_argument('--memory-limit', default='1GB', help='--memory-limit of the out-of-core run (default 1GB)')
    ap.add_argument('--repeat', type=int, default=1, help='runs per method; the median is reported')
    ap.add_argument('--methods', default='recmamba,polars,pandas,lines', help='comma-separated subset of ' + ','.join(METHODS))
    ap.add_argument('--style', choices=('plain', 'excel'), default='plain',
                    help='plain CSV, or as Excel exports it: byte-order mark, CRLF, every field quoted (default plain)')
    ap.add_argument('--dir', type=Path, help='work directory (default: a temporary directory, removed at the end)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--child', nargs='+', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child: return child(*args.child[:3], int(args.child[3]) if len(args.child) > 3 else None)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from recmamba.data import parse_size
    limit = parse_size(args.memory_limit)
    work = Path(args.dir or tempfile.mkdtemp(prefix='recmamba-bench-'))
    work.mkdir(parents=True, exist_ok=True)
    print(f'machine: {os.cpu_count()} CPUs; load average {" ".join(f"{x:.2f}" for x in os.getloadavg())}')
    try:
        warm = work / 'log_standard_warm-up.csv'
        generate(warm, 20_000, args.seed)
        for memory_limit in (None, limit): measure('recmamba', warm, work / 'out-warm-up', memory_limit)   # numba's cache
        shutil.rmtree(work / 'out-warm-up', ignore_errors=True)
        file = work / f'log_standard_bench_{args.rows}_{args.style}.csv'
        start = time.perf_counter()
        if not file.exists(): generate(file, args.rows, args.seed, style=args.style)
        print(f'KuaiRand-format CSV ({args.style}): {args.rows:,} rows, {gb(file.stat().st_size)} '
              f'({time.perf_counter() - start:.1f} s to make)\n')
        methods = [m for m in args.methods.split(',') if not (m == 'lines' and args.style == 'excel')]
        runs = {m: [] for m in methods}
        for _ in range(args.repeat):
            for m in methods:
                runs[m].append(measure(m, file, work / f'out-{m}'))
                print(f'  {m}: {runs[m][-1]["seconds"]:.2f} s', file=sys.stderr, flush=True)
        results = {}
        print(f'{"method":<32}{"seconds":>9}{"rows/s":>10}{"CPU s":>8}{"peak RSS":>11}')
        for m in methods:
            r = results[m] = {k: statistics.median(x[k] for x in runs[m]) for k in ('seconds', 'cpu_seconds')}
            r['peak_rss'] = max(x['peak_rss'] for x in runs[m])
            print(f'{METHODS[m][0]:<32}{r["seconds"]:>9.2f}{args.rows / r["seconds"] / 1e6:>9.2f}M'
                  f'{r["cpu_seconds"]:>8.2f}{gb(r["peak_rss"]):>11}')
        print()
        for ours in ('recmamba', 'polars'):
            if ours not in results: continue
            for m, goal in (('lines', 10), ('pandas', 2.5), ('polars', None)):
                if m in results and m != ours and not (ours == 'polars' and goal is None):
                    ratio = results[m]['seconds'] / results[ours]['seconds']
                    cpu_ratio = results[m]['cpu_seconds'] / results[ours]['cpu_seconds']
                    cpu = f'{cpu_ratio:.2f}x less' if cpu_ratio >= 1 else f'{1 / cpu_ratio:.2f}x more'
                    verdict = f'(goal >= {goal}x) {"ok" if ratio >= goal else "MISSED"}' if goal else ''
                    print(f'{ours:<8} vs {m:<7} {ratio:6.2f}x rows/s   {verdict:<22}[{cpu} CPU time]')
            rss = results[ours]['peak_rss']
            print(f'{ours:<8} peak RSS  {gb(rss)}   (goal <= 2 GB at 20M rows) {"ok" if rss <= 2e9 else "MISSED"}')
        first = methods[0]
        for m in methods[1:]:
            print(f'{m} output identical to {first}: {same_output(work / f"out-{first}", work / f"out-{m}")}')
        for m in methods: shutil.rmtree(work / f'out-{m}', ignore_errors=True)
        if args.ooc_rows:
            big = work / f'log_standard_bench_{args.ooc_rows}_{args.style}.csv'
            start = time.perf_counter()
            if not big.exists(): generate(big, args.ooc_rows, args.seed + 1, style=args.style)
            print(f'\nout of core: {args.ooc_rows:,} rows, {gb(big.stat().st_size)} ({time.perf_counter() - start:.1f} s to make), '
                  f'--memory-limit {args.memory_limit}')
            r = measure('recmamba', big, work / 'out-ooc', limit)
            print(f'recmamba prepare --memory-limit {args.memory_limit}: {r["seconds"]:.1f} s, '
                  f'{args.ooc_rows / r["seconds"] / 1e6:.2f}M rows/s, peak RSS {gb(r["peak_rss"])} '
                  f'({"within" if r["peak_rss"] <= limit else "ABOVE"} the {gb(limit)} limit)')
            from recmamba.data import load
            ds = load(work / 'out-ooc')
            print(f'  -> {ds.num_users:,} users, {ds.num_items:,} items, {ds.num_interactions:,} interactions, '
                  f'{ds.manifest["counts"]["parts"]} parts')
    finally:
        if args.dir is None: shutil.rmtree(work, ignore_errors=True)
    print(f'load average at the end: {" ".join(f"{x:.2f}" for x in os.getloadavg())}')


if __name__ == '__main__': main()
