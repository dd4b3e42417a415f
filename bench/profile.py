"""Where a training step's time goes: SASRec's and the fused CPU Mamba block's, side by side in one process.

    .venv/bin/python bench/profile.py                         # L=200, batch 32 and 128, d_state 32, hidden 64, 1 block
    .venv/bin/python bench/profile.py --threads 1 --d-state 16

A step is `recmamba bench`'s (forward and backward of the BCE loss on `encode`'s states). The two models' steps run
in turn (medians of --repeats after a warm-up), as wall time and as CPU time of all threads. The Mamba step is split
by timing the functions the fused block (`MambaInnerCPU`) calls, wrapped in place: the scan kernels, the
convolution kernels, the projections (`_linear`, with the rest of the block's matrix products counted in "block
other"), and what is left of the node (its Python, the weight gradients' products, copies between chunks). "shared"
is what both models do outside their blocks (embeddings, padding rotation, the loss and their backward): the step
of a model without a block, timed the same way. Beside each case, the scan at its instruction floor: the state
updates at --floor-instructions vector instructions per vector of updates (51 forward and backward, counted in the
compiled loops: nbs/01_scan.ipynb), --issue-width of them a cycle on each thread, at the measured clock; and the
Mamba step with that scan in place of the measured one, over SASRec's. Last, the cost of one kernel call on a
one-token input (numba's dispatch of the named structures, `kernel_threads`, the views) and how the scan's work
items fall on the threads.
"""
import argparse, os, re, statistics, time

import numba
import torch
import torch.nn.functional as F

import recmamba.models as models
import recmamba.scan as scan
from recmamba.models import build_model

PARTS = {'numba_scan_forward': 'scan forward', 'numba_scan_backward': 'scan backward', 'conv_silu': 'conv forward',
         'conv_silu_grads': 'conv backward', '_linear': 'projections'}


def step_of(backbone, L, batch, d_state, hidden, blocks, seed=0):
    torch.manual_seed(seed)
    model = build_model('sasrec' if backbone == 'none' else backbone, 10_000, L, hidden_units=hidden, num_blocks=blocks,
                        dropout_rate=0.0, d_state=d_state)
    if backbone == 'none': model.mix = lambda x, real: x * 1.0  # the shared part: no block
    seqs, pos, neg = torch.randint(1, 10_001, (3, batch, L))
    ones, zeros = torch.ones(batch, L), torch.zeros(batch, L)
    def step():
        model.zero_grad(set_to_none=True)
        states = model.encode(seqs)
        pos_logits, neg_logits = (states * model.item_emb(pos)).sum(-1), (states * model.item_emb(neg)).sum(-1)
        (F.binary_cross_entropy_with_logits(pos_logits, ones) + F.binary_cross_entropy_with_logits(neg_logits, zeros)).backward()
    return step


@numba.njit
def _chain(n):
    x = 1
    for i in range(n): x = (x * 1103515245 + 12345) ^ (x >> 13)  # multiply, add, xor one after the other: 3 + 1 + 1 cycles
    return x


def clock_ghz(steps=200_000_000):
    "The core's clock, from a chain of dependent integer operations (5 cycles a step; the fastest of 5 runs)."
    _chain(10)
    best = min((lambda t: (_chain(steps), time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(5))
    return 5 * steps / best / 1e9


def vector_lanes():
    "float32 lanes of the widest vectors the kernels use here: 16 with AVX-512, else 8 (AVX2)."
    flags = open('/proc/cpuinfo').read() if os.path.exists('/proc/cpuinfo') else ''
    return 16 if re.search(r'\bavx512f\b', flags) else 8


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--lengths', type=int, nargs='+', default=[200])
    ap.add_argument('--batch', type=int, nargs='+', default=[32, 128])
    ap.add_argument('--d-state', type=int, default=32)
    ap.add_argument('--hidden', type=int, default=64)
    ap.add_argument('--num-blocks', type=int, default=1)
    ap.add_argument('--repeats', type=int, default=9)
    ap.add_argument('--threads', type=int, default=None, help="torch's (and so the kernels') threads (default: torch's)")
    ap.add_argument('--floor-instructions', type=float, default=51,
                    help='vector instructions per vector of state updates, forward and backward (default 51)')
    ap.add_argument('--issue-width', type=float, default=2, help='vector instructions a core issues a cycle (default 2)')
    args = ap.parse_args(argv)
    if args.threads: torch.set_num_threads(args.threads)
    spent = {}
    def timed(name, fn):
        def wrapper(*a, **k):
            start = time.perf_counter()
            try: return fn(*a, **k)
            finally: spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
        return wrapper
    for name in PARTS: setattr(models, name, timed(name, getattr(models, name)))
    node = models.MambaInnerCPU
    forward, backward = node.forward, node.backward
    node.forward, node.backward = staticmethod(timed('node', forward)), staticmethod(timed('node', backward))
    ghz, lanes, workers = clock_ghz(), vector_lanes(), torch.get_num_threads()
    floor_ns = args.floor_instructions / lanes / args.issue_width / ghz / workers  # a state update, over the threads
    print(f'clock {ghz:.2f} GHz (a dependent multiply-add chain on one core), {lanes}-lane vectors: the scan\'s floor '
          f'{floor_ns:.2f} ns a state update over {workers} thread(s) ({args.floor_instructions:g} instructions a vector, '
          f'{args.issue_width:g} a cycle)')
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'hidden {args.hidden}, {args.num_blocks} block(s), d_state {args.d_state}; medians of {args.repeats} steps, ms '
          '(wall, then CPU time of all threads in brackets)')
    for L in args.lengths:
        for batch in args.batch:
            steps = {b: step_of(b, L, batch, args.d_state, args.hidden, args.num_blocks) for b in ('sasrec', 'mamba', 'none')}
            for s in steps.values(): s(); s()
            wall, cpu, parts = {b: [] for b in steps}, {b: [] for b in steps}, []
            for _ in range(args.repeats):
                for b, s in steps.items():
                    spent.clear()
                    t, c = time.perf_counter(), time.process_time()
                    s()
                    wall[b].append(1e3 * (time.perf_counter() - t)); cpu[b].append(1e3 * (time.process_time() - c))
                    if b == 'mamba': parts.append(dict(spent))
            med = lambda xs: statistics.median(xs)
            w, c = {b: med(v) for b, v in wall.items()}, {b: med(v) for b, v in cpu.items()}
            part = {k: 1e3 * med([p.get(k, 0.0) for p in parts]) for k in list(PARTS) + ['node']}
            kernels = sum(part[k] for k in PARTS)
            rows = [('SASRec step', w['sasrec'], c['sasrec']), ('Mamba step', w['mamba'], c['mamba']),
                    ('  shared (no block)', w['none'], c['none'])]
            rows += [(f'  {PARTS[k]}', part[k], None) for k in PARTS]
            rows += [('  block other', part['node'] - kernels, None), ('  out of the node', w['mamba'] - w['none'] - part['node'], None)]
            print(f'\nL={L} batch {batch}: Mamba/SASRec {w["mamba"] / w["sasrec"]:.2f}x wall, {c["mamba"] / c["sasrec"]:.2f}x CPU; '
                  f'SASRec\'s block {w["sasrec"] - w["none"]:.1f} ms, Mamba\'s {w["mamba"] - w["none"]:.1f} ms')
            for label, ms, cpu_ms in rows:
                share = f'{100 * ms / w["mamba"]:5.1f}%' if label.startswith('  ') else ''
                print(f'  {label:22s} {ms:8.1f}' + (f' ({cpu_ms:.1f})' if cpu_ms is not None else '') + f'  {share}')
            tokens, updates = batch * L, batch * L * 2 * args.hidden * args.d_state
            scan_ns = 1e6 * (part['numba_scan_forward'] + part['numba_scan_backward']) / updates
            print(f'  per token (µs): SASRec {1e3 * w["sasrec"] / tokens:.2f}, Mamba {1e3 * w["mamba"] / tokens:.2f}, of which '
                  f'the scan {1e3 * (part["numba_scan_forward"] + part["numba_scan_backward"]) / tokens:.2f} '
                  f'({scan_ns:.2f} ns a state update, forward and backward, over {torch.get_num_threads()} thread(s))')
            scan_ms, floor_ms = part['numba_scan_forward'] + part['numba_scan_backward'], updates * floor_ns / 1e6
            print(f'  the scan at its floor: {floor_ms:.1f} ms against {scan_ms:.1f}; Mamba\'s step with it '
                  f'{w["mamba"] - scan_ms + floor_ms:.1f} ms, {(w["mamba"] - scan_ms + floor_ms) / w["sasrec"]:.2f}x SASRec\'s '
                  f'(the scan\'s share of a step at 1.0x: {max(0.0, w["sasrec"] - w["mamba"] + scan_ms):.1f} ms)')
    # the cost of a call, and the work items per thread
    u = torch.randn(1, 1, scan.GROUP * 2)
    ops = scan.ScanOperands(u=u, xdbl=torch.randn(1, 1, 1 + 2 * args.d_state), A=-torch.ones(args.d_state, u.shape[-1]),
                            D=torch.ones(u.shape[-1]), dt_weight=torch.randn(1, u.shape[-1]), z=torch.randn_like(u))
    out, ckpt, _ = scan.numba_scan_forward(ops)
    calls = {'scan forward': lambda: scan.numba_scan_forward(ops), 'scan backward': lambda: scan.numba_scan_backward(ops, ckpt, out),
             'conv forward': lambda: scan.conv_silu(u, torch.ones(4, u.shape[-1]), torch.zeros(u.shape[-1]))}
    for f in calls.values(): f()
    cost = {k: 1e6 * med([(lambda t: (f(), time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(200)]) for k, f in calls.items()}
    print(f'\nnumba threading layer {numba.threading_layer()}; one call on a one-token input (µs): ' + ', '.join(f'{k} {v:.0f}' for k, v in cost.items()))
    threads = numba.config.NUMBA_NUM_THREADS if args.threads is None else min(args.threads, numba.config.NUMBA_NUM_THREADS)
    groups = args.hidden * 2 // scan.GROUP
    for batch in args.batch:
        with scan.kernel_threads():
            splits = scan.channel_splits(groups, batch)
        print(f'batch {batch}: {groups} channel groups, {splits} range(s) a row: {batch * splits} work items for {threads} threads')


if __name__ == '__main__':
    main()
