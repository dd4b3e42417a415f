"""Selective scan on the CPU, forward+backward: the fused numba kernel against the pure-PyTorch scans and against
causal scaled_dot_product_attention of the matching SASRec block, side by side in one process.

    .venv/bin/python bench/scan.py                      # B=8, D=128, N=16 and 32, L=1024..8192
    .venv/bin/python bench/scan.py --lengths 1024 --states 16 --repeats 5   # a quick look
    .venv/bin/python bench/scan.py --batch 128 --lengths 200 --states 1 16 --no-gate --no-softplus --torch-max-len 0
                                                        # what a step and channel cost beyond the state updates

Each repetition runs every implementation once, in turn, so that load from other processes hits them alike; the
table shows medians after one warm-up run, and the ratios between them. The pure-PyTorch scans are the chunked
parallel scan ('torch', the CUDA fallback) and the sequential reference ('ref', one fused multiply-add per step,
holding several (B, D, L, N) tensors); the speed-up is taken against the faster of them. They run up to
--torch-max-len. The attention has the Mamba block's model width (D / expand) with one head, as SASRec at hidden
size D / 2. The time of every step is also measured as CPU time (user + system, all threads), which other load on
the machine disturbs far less than the wall time: ratios of CPU times are printed too.
"""
import argparse, os, statistics, time

import numba
import torch
import torch.nn.functional as F

from recmamba.scan_dispatch import selective_scan


def block_scan_inputs(batch, dim, L, N, seed=0, gate=True, softplus=True):
    """Inputs as the Mamba block passes them: (B, L, D) activations transposed, softplus step with bias, D and z
    (without the gate z or the softplus where asked: what they cost)."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)
    delta = r(batch, L, dim).transpose(1, 2) * 0.5 - 3
    return dict(u=r(batch, L, dim).transpose(1, 2), delta=delta if softplus else torch.nn.functional.softplus(delta),
                A=-torch.arange(1, N + 1.0).repeat(dim, 1), B=r(batch, L, N).transpose(1, 2), C=r(batch, L, N).transpose(1, 2),
                D=torch.ones(dim), z=r(batch, L, dim).transpose(1, 2) if gate else None, delta_bias=torch.zeros(dim),
                delta_softplus=softplus)


def scan_step(impl, inputs):
    tensors = {k: v.clone().requires_grad_() if torch.is_tensor(v) else v for k, v in inputs.items()}
    def step():
        for v in tensors.values():
            if torch.is_tensor(v): v.grad = None
        selective_scan(**tensors, impl=impl).sum().backward()
    return step


def attention_step(batch, L, width, heads):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(batch, heads, L, width // heads, generator=g).requires_grad_() for _ in range(3))
    def step():
        for t in (q, k, v): t.grad = None
        F.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    return step


def bench(steps, repeats):
    "Median wall and CPU seconds of each step over `repeats` round-robin runs after one warm-up run."
    times = {name: ([], []) for name in steps}
    for round in range(repeats + 1):
        for name, step in steps.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            step()
            if round:
                times[name][0].append(time.perf_counter() - start)
                times[name][1].append(time.process_time() - cpu_start)
    return ({name: statistics.median(t[0]) for name, t in times.items()},
            {name: statistics.median(t[1]) for name, t in times.items()})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--dim', type=int, default=128, help='scan channels (d_inner = expand * hidden size)')
    ap.add_argument('--expand', type=int, default=2, help='the attention width is dim / expand')
    ap.add_argument('--heads', type=int, default=1)
    ap.add_argument('--states', type=int, nargs='+', default=[16, 32])
    ap.add_argument('--lengths', type=int, nargs='+', default=[1024, 2048, 4096, 8192])
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--torch-max-len', type=int, default=4096, help='longest L for the pure-PyTorch scans')
    ap.add_argument('--torch-impls', nargs='+', default=['torch', 'ref'], choices=['ref', 'torch'], help='pure-PyTorch scans to run')
    ap.add_argument('--threads', type=int, default=None, help="torch's (and so the kernels') threads (default: torch's)")
    ap.add_argument('--no-gate', action='store_true', help='scan without the gate z (its cost: compare with and without)')
    ap.add_argument('--no-softplus', action='store_true', help='scan a step already through its softplus (the same values)')
    args = ap.parse_args(argv)
    if args.threads: torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, load average at start {os.getloadavg()}')
    print(f'batch {args.batch}, scan dim {args.dim}, attention width {args.dim // args.expand} x {args.heads} head(s); '
          f'fwd+bwd medians of {args.repeats} after a warm-up: wall ms, then ratios of wall (and of CPU) times')
    if args.no_gate or args.no_softplus:
        print('scan without ' + ' and '.join(w for w, off in (('the gate', args.no_gate), ('the softplus', args.no_softplus)) if off))
    print(f"{'N':>3} {'L':>5} {'numba':>8} {'ref':>8} {'torch':>8} {'sdpa':>8} {'best torch/numba':>18} {'numba/sdpa':>14} "
          f"{'ns/update':>10}")
    for N in args.states:
        for L in args.lengths:
            inputs = block_scan_inputs(args.batch, args.dim, L, N, gate=not args.no_gate, softplus=not args.no_softplus)
            steps = {'numba': scan_step('numba', inputs)}
            if L <= args.torch_max_len: steps.update({impl: scan_step(impl, inputs) for impl in args.torch_impls})
            steps['sdpa'] = attention_step(args.batch, L, args.dim // args.expand, args.heads)
            wall, cpu = bench(steps, args.repeats)
            best = min((k for k in ('ref', 'torch') if k in wall), key=wall.get, default=None)
            ms = lambda k: f'{wall[k] * 1e3:8.1f}' if k in wall else f"{'-':>8}"
            speedup = f'{wall[best] / wall["numba"]:.1f}x ({cpu[best] / cpu["numba"]:.1f}x)' if best else '-'
            versus = f'{wall["numba"] / wall["sdpa"]:.2f}x ({cpu["numba"] / cpu["sdpa"]:.2f}x)'
            print(f"{N:>3} {L:>5} {ms('numba')} {ms('ref')} {ms('torch')} {ms('sdpa')} {speedup:>18} {versus:>14} "
                  f"{wall['numba'] / (args.batch * args.dim * L * N) * 1e9:>10.2f}", flush=True)
    print(f'load average at end {os.getloadavg()}; numba threading layer {numba.threading_layer()}')


if __name__ == '__main__':
    main()
