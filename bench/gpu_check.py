"""Correctness checks of recmamba on a GPU, run by bench/gpu_check.sh before its benchmark.

    python bench/gpu_check.py                  # on a machine with CUDA
    python bench/gpu_check.py --device cpu     # the same checks on the CPU (what `gpu_check.sh --dry-run` runs)

1. The selective scan's implementations for the device ('torch', the chunked parallel scan every device runs;
   'triton', our Triton kernels, where triton is installed (on the CPU: under TRITON_INTERPRET=1); 'cuda',
   mamba_ssm's kernel, where it is installed) against the sequential float64 reference computed on the CPU:
   output, final state and the gradients of all eight inputs, on shapes that exercise the edges (L not a multiple
   of the chunk, N = 16 and 32, batch 1, steps so large that every decay underflows and so small that decays are
   within 1e-4 of 1, without the optional inputs, without the softplus) and one long sequence of many chunks;
   the Triton kernels also with channel-contiguous inputs (as the Mamba block passes them) and in bfloat16.
2. Every backbone on the device against the same model on the CPU (our fused numba path there), padding
   invariance, causality and scoring on the device, the two SASRec attention kernels against each other, and a
   training step with finite gradients for every parameter; Mamba also with the Triton scan forced, where the
   automatic choice is another one.

Prints one line per check and ends with `ALL OK` (exit 0) or `N CHECK(S) FAILED` (exit 1).
"""
import argparse, math, sys, time

import torch
import torch.nn.functional as F

from recmamba.models import build_model
from recmamba.scan import selective_scan_ref
from recmamba.scan_dispatch import resolve_scan_impl, selective_scan

NAMES = ('u', 'delta', 'A', 'B', 'C', 'D', 'z', 'delta_bias')
SCAN_CASES = [dict(batch=2, dim=64, L=200, N=16), dict(batch=1, dim=40, L=130, N=32),
              dict(batch=2, dim=32, L=50, N=16, dt_scale=300.0), dict(batch=2, dim=48, L=70, N=16, dt_scale=1e-4, options=False),
              dict(batch=3, dim=32, L=64, N=32, softplus=False), dict(batch=2, dim=64, L=3000, N=16)]


class Checks:
    "Collects named checks of an error against a tolerance and prints each as it comes."
    def __init__(self): self.failed = 0

    def __call__(self, name, what, err, tol):
        ok = err < tol  # a NaN error fails
        self.failed += not ok
        print(f'{"ok  " if ok else "FAIL"} {name:22s} {what:44s} {err:.2e} (< {tol:g})', flush=True)


def rel_err(x, ref):
    "Largest error relative to the largest magnitude of the reference."
    x, ref = x.detach().double().cpu(), ref.detach().double().cpu()
    return ((x - ref).abs().max() / ref.abs().max().clamp_min(1e-30)).item()


def reference_case_inputs(batch, dim, L, N, dt_scale=1.0, options=True, softplus=True, seed=0):
    "Random float64 scan inputs with Mamba-like magnitudes (as the scan notebook's tests draw them)."
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
    a = dict(u=r(batch, dim, L), delta=r(batch, dim, L) * 0.5 + math.log(math.expm1(0.05 * dt_scale)),
             A=-torch.arange(1, N + 1, dtype=torch.float64).repeat(dim, 1) * (0.5 + torch.rand(dim, 1, generator=g, dtype=torch.float64)),
             B=r(batch, N, L), C=r(batch, N, L))
    if options: a.update(D=r(dim), z=r(batch, dim, L), delta_bias=r(dim) * 0.1)
    if not softplus:  # keep the step positive without the softplus
        a['delta'] = F.softplus(a['delta'])
        if options: a['delta_bias'] = a['delta_bias'].abs()
    return a


def channel_major(x):
    "x with its middle axis contiguous in memory (same values), as recmamba's Mamba block passes (batch, ·, L) tensors."
    return x.mT.contiguous().mT if x.dim() == 3 else x

def check_scan(check, impl, device, case, dtype=torch.float32, layout=None, tol=1e-4):
    "Output, final state and every gradient of `impl` on `device` (inputs in `dtype`) against the float64 reference on the CPU."
    softplus = case.get('softplus', True)
    a = reference_case_inputs(**case)
    ours = {k: (layout or (lambda x: x))(v.to(device, dtype)).requires_grad_() for k, v in a.items()}
    ref = {k: v.clone().requires_grad_() for k, v in a.items()}
    out, last = selective_scan(**ours, delta_softplus=softplus, return_last_state=True, impl=impl)
    ref_out, ref_last = selective_scan_ref(**ref, delta_softplus=softplus, return_last_state=True)
    g = torch.Generator().manual_seed(1)
    w, w_last = torch.randn(ref_out.shape, generator=g, dtype=torch.float64), torch.randn(ref_last.shape, generator=g, dtype=torch.float64)
    if impl == 'cuda': w_last.zero_()  # mamba_ssm's kernel ignores the gradient of the final state
    ((out.double().cpu() * w).sum() + (last.double().cpu() * w_last).sum()).backward()
    ((ref_out * w).sum() + (ref_last * w_last).sum()).backward()
    shape = f"b{case['batch']} d{case['dim']} L{case['L']} N{case['N']}" + ''.join(
        f' {k}={v}' for k, v in case.items() if k not in ('batch', 'dim', 'L', 'N'))
    shape += (' ' + str(dtype).split('.')[-1] if dtype != torch.float32 else '') + (' channel-major' if layout else '')
    errors = dict(out=rel_err(out, ref_out), last_state=rel_err(last, ref_last),
                  **{f'd{k}': rel_err(ours[k].grad, ref[k].grad) for k in a})
    worst = max(errors, key=errors.get)
    check(f'scan {impl}', f'{shape}: worst {worst}', errors[worst], tol)


def check_models(check, device, triton, cpu=torch.device('cpu')):
    """Each backbone on `device` against the CPU, and the model properties on `device` (from the models notebook's tests),
    errors relative to the largest state: a leak through padding or from the future is of the states' own size."""
    num_items, maxlen = 500, 300
    variants = {'sasrec': dict(backbone='sasrec', num_heads=2), 'sasrec-naive': dict(backbone='sasrec', num_heads=2, attn='naive'),
                'linrec': dict(backbone='linrec', num_heads=2), 'mamba': dict(backbone='mamba'),
                'mamba-2': dict(backbone='mamba', num_blocks=2)}
    if triton and resolve_scan_impl(None, device) != 'triton': variants['mamba-triton'] = dict(backbone='mamba', scan='triton')
    torch.manual_seed(0)
    seqs = torch.randint(1, num_items + 1, (4, 200))
    for name, hp in variants.items():
        hp = dict(hp)
        scan = hp.pop('scan', None)
        torch.manual_seed(1)
        ref = build_model(num_items=num_items, maxlen=maxlen, hidden_units=64, **hp).eval()
        model = build_model(**ref.config).to(device).eval()
        if scan: model.scan_impl = scan
        model.load_state_dict(ref.state_dict())
        with torch.no_grad():
            states = model.encode(seqs.to(device))
            check(name, f'encode on {device.type} vs cpu', rel_err(states, ref.encode(seqs)), 1e-4)
            for n in (10, 100):
                padded = model.encode(F.pad(seqs, (n, 0)).to(device))[:, n:]
                check(name, f'padding invariance (pad {n})', rel_err(padded, states), 1e-5)
            changed = seqs.clone()
            changed[:, 150] = changed[:, 150] % num_items + 1
            after = model.encode(changed.to(device))
            check(name, 'causality (positions before a change)', rel_err(after[:, :150], states[:, :150]), 1e-5)
            moved = (after[:, 150] - states[:, 150]).abs().max().item()
            check(name, 'the change moves its own position (> 1e-4)', 0.0 if moved > 1e-4 else math.inf, 1)
            items = torch.randint(1, num_items + 1, (4, 101), device=device)
            scores = model.score(seqs.to(device), items)
            check(name, 'score = last state . item embedding',
                  (scores - (model.item_emb(items) @ states[:, -1, :, None]).squeeze(-1)).abs().max().item(), 1e-4)
        model.train()
        model.encode(seqs.to(device)).square().mean().backward()
        finite = all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
        check(name, 'training step: finite gradients everywhere', 0.0 if finite else math.inf, 1)
    torch.manual_seed(2)
    sdpa = build_model('sasrec', num_items, maxlen, num_heads=2).to(device).eval()
    naive = build_model(**{**sdpa.config, 'attn': 'naive'}).to(device).eval()
    naive.load_state_dict(sdpa.state_dict())
    with torch.no_grad():
        x = F.pad(seqs, (37, 0)).to(device)
        check('sasrec', 'sdpa == naive attention', (sdpa.encode(x) - naive.encode(x)).abs().max().item(), 1e-4)


def runs(f):
    "Whether f() returns without a ValueError (an implementation `resolve_scan_impl` refuses here)."
    try: f()
    except ValueError: return False
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--device', default='cuda', help='cuda, cuda:N or cpu (default cuda)')
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        print(f'gpu_check: CUDA is not available here (torch {torch.__version__}, built for CUDA {torch.version.cuda}); '
              'run on a GPU machine, or pass --device cpu to run the checks on the CPU', file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False  # float32 means float32 here
    start = time.time()
    triton = runs(lambda: resolve_scan_impl('triton', device))
    impls = ['torch'] + (['triton'] if triton else []) + (['cuda'] if resolve_scan_impl(None, device) == 'cuda' else [])
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'
    print(f'torch {torch.__version__} on {where}; scan implementations checked: {", ".join(impls)}; '
          f'the model on {device.type} runs scan {resolve_scan_impl(None, device)!r}', flush=True)
    check = Checks()
    for impl in impls:
        for case in SCAN_CASES: check_scan(check, impl, device, case)
    if triton:
        for case in SCAN_CASES[:2]: check_scan(check, 'triton', device, case, layout=channel_major)
        check_scan(check, 'triton', device, dict(batch=2, dim=64, L=300, N=32), dtype=torch.bfloat16, tol=2e-2)
    check_models(check, device, triton)
    print(f'{time.time() - start:.0f} s; ' + ('ALL OK' if not check.failed else f'{check.failed} CHECK(S) FAILED'), flush=True)
    return 1 if check.failed else 0


if __name__ == '__main__':
    sys.exit(main())
