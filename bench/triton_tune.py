"""Time the Triton selective scan's tile sizes against each other, forward and backward apart, in one process.

    python bench/triton_tune.py                                   # on a GPU: batch 32, 128 channels, d_state 32, L 4096
    python bench/triton_tune.py --length 8192 --layout time --budget 120
    TRITON_INTERPRET=1 python bench/triton_tune.py --device cpu --batch 1 --dim 8 --d-state 4 --length 64 --repeats 1

For each chunk length (the tile's time steps, which the forward's checkpoints and the backward share) it times the
forward kernel and the backward kernel at every channel block and warp count whose tile holds 512 to 8192 values,
the default configuration first, each the median of `--repeats` launches after one warm-up (which compiles it),
until `--budget` seconds have passed; a configuration that fails to compile or launch is reported and skipped.
Ends with the default's forward+backward time, the best combination found for each chunk length (its
`TritonScanConfig`), and the best's speed-up over the default. Timings are comparable only within one run.
"""
import argparse, itertools, math, statistics, sys, time

import torch
import triton

from recmamba.triton_scan import (ScanInputs, TritonScanConfig, default_config, interpreted, scan_backward, scan_forward)


def tile_tuning_inputs(batch, dim, N, L, device, layout, dtype):
    "The Mamba block's scan inputs at these sizes (its initialisation's magnitudes), laid out as `layout` says."
    g = torch.Generator().manual_seed(0)
    seq = lambda *shape: (torch.randn(*shape, generator=g).to(device, dtype) if layout == 'time'
                          else torch.randn(shape[0], shape[2], shape[1], generator=g).to(device, dtype).mT)
    dt = torch.exp(torch.rand(dim, generator=g) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
    x = ScanInputs(seq(batch, dim, L), 0.5 * seq(batch, dim, L), -torch.arange(1., N + 1).repeat(dim, 1).to(device),
                   seq(batch, N, L), seq(batch, N, L), torch.ones(dim, device=device), seq(batch, dim, L),
                   (dt + torch.log(-torch.expm1(-dt))).to(device), True)
    return x, seq(batch, dim, L)


def timer(device):
    "Milliseconds that f() takes, the device synchronised before and after."
    sync = torch.cuda.synchronize if torch.device(device).type == 'cuda' else (lambda: None)
    def ms(f):
        sync(); start = time.perf_counter()
        f(); sync()
        return 1000 * (time.perf_counter() - start)
    return ms


def candidates(kernel, N, dim, chunks, default):
    """(chunk, channels, warps) to time for `kernel`: every tile of 512 to 8192 values at each chunk length (the
    default's first), nearest the default's channel block and with its warps first, so a short budget tries those."""
    NP, channels = triton.next_power_of_2(N), triton.next_power_of_2(dim)
    block, warps = (default.fwd_block_d, default.fwd_warps) if kernel == 'fwd' else (default.bwd_block_d, default.bwd_warps)
    out = []
    for chunk in [default.chunk] + [c for c in chunks if c != default.chunk]:
        blocks = [b for b in (1, 2, 4, 8, 16, 32) if b <= channels and 512 <= b * NP * chunk <= 8192] or [1]
        options = sorted(itertools.product(blocks, (4, 8, 2)), key=lambda o: (abs(math.log2(o[0] / block)), o[1] != warps))
        out += [(chunk, *o) for o in options]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--dim', type=int, default=128, help='channels (expand * hidden; default 128)')
    ap.add_argument('--d-state', type=int, default=32)
    ap.add_argument('--length', type=int, default=4096)
    ap.add_argument('--layout', choices=['channels', 'time'], default='channels',
                    help="memory order of the (batch, ·, L) inputs: channels contiguous (recmamba's Mamba block, the default) or time")
    ap.add_argument('--dtype', choices=['float32', 'bfloat16'], default='float32')
    ap.add_argument('--chunks', type=int, nargs='+', default=[16, 32, 64])
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--budget', type=float, default=60, help='seconds to spend at most (default 60)')
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        print('triton_tune: CUDA is not available here (use --device cpu under TRITON_INTERPRET=1)', file=sys.stderr)
        return 2
    if device.type == 'cpu' and not interpreted():
        print('triton_tune: on the CPU the kernels run only under Triton\'s interpreter: set TRITON_INTERPRET=1', file=sys.stderr)
        return 2
    deadline = time.time() + args.budget
    dtype = getattr(torch, args.dtype)
    x, dout = tile_tuning_inputs(args.batch, args.dim, args.d_state, args.length, device, args.layout, dtype)
    default = default_config(args.dim, args.d_state)
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu (interpreter)'
    print(f'{where}: batch {args.batch}, dim {args.dim}, d_state {args.d_state}, L {args.length}, {args.layout}-contiguous '
          f'{args.dtype}; default {default}; median of {args.repeats} ms', flush=True)
    ms = timer(device)
    results = {}  # (kernel, chunk, channels, warps) -> ms

    def measure(kernel, chunk, channels, warps):
        key = (kernel, chunk, channels, warps)
        if key in results or time.time() > deadline: return results.get(key)
        cfg = TritonScanConfig(chunk, channels, channels, warps, warps)
        try:
            _, _, ckpt = scan_forward(x, cfg)
            run = (lambda: scan_forward(x, cfg)) if kernel == 'fwd' else (lambda: scan_backward(x, ckpt, dout, None, cfg))
            run()  # compiles
            results[key] = statistics.median(ms(run) for _ in range(args.repeats))
            print(f'{kernel} chunk {chunk:3d} channels {channels:2d} warps {warps}: {results[key]:9.3f} ms', flush=True)
        except Exception as e:  # a tile too large for this GPU's registers or shared memory
            results[key] = math.inf
            print(f'{kernel} chunk {chunk:3d} channels {channels:2d} warps {warps}: failed ({type(e).__name__}: {str(e)[:120]})',
                  flush=True)
        return results[key]

    for fwd, bwd in itertools.zip_longest(*(candidates(k, args.d_state, args.dim, args.chunks, default) for k in ('fwd', 'bwd'))):
        if fwd: measure('fwd', *fwd)
        if bwd: measure('bwd', *bwd)
    base = (results[('fwd', default.chunk, default.fwd_block_d, default.fwd_warps)]
            + results[('bwd', default.chunk, default.bwd_block_d, default.bwd_warps)])
    print(f'\ndefault {default}: forward+backward {base:.3f} ms')
    best = None
    for chunk in sorted({k[1] for k in results}):
        timed = {kernel: [(v, k) for k, v in results.items() if k[:2] == (kernel, chunk)] for kernel in ('fwd', 'bwd')}
        if not (timed['fwd'] and timed['bwd']): continue
        fwd, bwd = min(timed['fwd']), min(timed['bwd'])
        total = fwd[0] + bwd[0]
        cfg = TritonScanConfig(chunk, fwd[1][2], bwd[1][2], fwd[1][3], bwd[1][3])
        print(f'best at chunk {chunk}: {cfg}: forward {fwd[0]:.3f} + backward {bwd[0]:.3f} = {total:.3f} ms')
        if best is None or total < best[0]: best = (total, cfg)
    print(f'BEST {best[1]}: {best[0]:.3f} ms, {base / best[0]:.2f}x the default' + ('' if time.time() < deadline else
          ' (the budget ran out before every configuration was timed)'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
