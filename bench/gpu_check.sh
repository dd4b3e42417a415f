#!/usr/bin/env bash
# The GPU check: on one GPU, in at most 8 minutes, with no network and no installs,
#   1. bench/gpu_check.py: the scans on CUDA (the chunked PyTorch scan, our Triton kernels where triton is installed,
#      mamba_ssm's kernel where it is) against the float64 reference, forward and gradients on several shapes, and
#      every backbone on the GPU against the CPU with its padding, causality and scoring properties;
#   2. `recmamba bench --device cuda --batch 32 --d-state 32` for sasrec (SDPA attention), sasrec-naive, linrec and
#      mamba (its scan: mamba_ssm's where installed, else Triton; with mamba_ssm, also mamba-triton) at L = 1024 ... 8192;
#   3. the scans alone (Triton, and mamba_ssm's where installed) at the same lengths, on time-contiguous inputs as
#      mamba_ssm's module passes them;
#   4. bench/triton_tune.py: the Triton scan's tile sizes against each other at L = 4096 (channel-contiguous inputs,
#      as recmamba's Mamba block passes them), for as long as its budget allows;
# each bounded so that the whole fits, then a summary. Logs, JSON reports and HTML figures go to --out (default
# $OUT if set, else reports/bench).
#
# Usage:  bench/gpu_check.sh [--dry-run] [--out DIR]
#   Runs from any directory; the checkout is put first on PYTHONPATH, so the package need not be installed, but its
#   requirements (torch with CUDA, numba, plotly, pandas) must import with $PYTHON (default python3).
#   --dry-run  every step on the CPU at toy sizes, to check the script, the package and the plumbing anywhere (the
#              Triton kernels in Triton's interpreter); the GPU commands are printed as they would run (output to a
#              temporary directory unless --out is given).
# Exit status: 0 all checks passed and every benchmark run completed; 1 something failed or timed out;
# 2 it cannot run here (no CUDA without --dry-run, the package not importable, a bad argument).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
DRY=0
OUT_DIR="${OUT:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --out) [ $# -ge 2 ] || { echo "gpu_check.sh: --out needs a directory" >&2; exit 2; }; OUT_DIR="$2"; shift ;;
    -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument '$1' (usage: bench/gpu_check.sh [--dry-run] [--out DIR])" >&2; exit 2 ;;
  esac
  shift
done
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TRITON_DEFAULT_FP_FUSION=1
if [ "$DRY" = 1 ]; then export TRITON_INTERPRET=1; fi  # the Triton kernels run on the CPU only in Triton's interpreter

# 0. Can it run here?
ENV_PROBE='
import importlib.util, os, platform, numba, plotly, torch, recmamba
from recmamba.scan_dispatch import resolve_scan_impl, triton_unavailable
cuda = torch.cuda.is_available()
fused = cuda and resolve_scan_impl(None, "cuda") == "cuda"
triton_problem = triton_unavailable("cuda" if cuda and os.environ.get("TRITON_INTERPRET") != "1" else "cpu")
triton = triton_problem is None
triton_version = __import__("triton").__version__ if importlib.util.find_spec("triton") else "not installed"
print(f"python {platform.python_version()}, torch {torch.__version__} (CUDA {torch.version.cuda}), numba {numba.__version__}, "
      f"triton {triton_version}, recmamba {recmamba.__version__} from {recmamba.__file__}")
print("gpu:", torch.cuda.get_device_name(0) if cuda else "none", "| selective scan on CUDA:",
      "mamba_ssm kernel" if fused else "Triton kernels (mamba_ssm not installed)" if cuda and triton
      else f"chunked PyTorch scan (mamba_ssm not installed; Triton kernels: {triton_problem})" if cuda else "-")
print(f"HAS_CUDA={int(cuda)} HAS_FUSED={int(fused)} HAS_TRITON={int(triton)}")
'
if ! ENV_INFO="$("$PY" -c "$ENV_PROBE" 2>&1)"; then
  echo "gpu_check.sh: the package or its requirements do not import with $PY:" >&2
  echo "$ENV_INFO" | tail -3 >&2
  echo "(install the project's requirements, e.g. pip install -e '$ROOT', or set PYTHON to an interpreter that has them)" >&2
  exit 2
fi
eval "$(echo "$ENV_INFO" | grep '^HAS_')"
if [ "$DRY" = 0 ] && [ "$HAS_CUDA" != 1 ]; then
  echo "$ENV_INFO" | grep -v '^HAS_' >&2
  echo "gpu_check.sh: CUDA is not available to torch here; run it on a GPU machine (or with --dry-run to test the script on the CPU)" >&2
  exit 2
fi
if [ -z "$OUT_DIR" ]; then
  if [ "$DRY" = 1 ]; then OUT_DIR="$(mktemp -d -t gpu-check-dry-XXXXXX)"; else OUT_DIR="$ROOT/reports/bench"; fi
fi
mkdir -p "$OUT_DIR" || { echo "gpu_check.sh: cannot create the output directory $OUT_DIR" >&2; exit 2; }
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
LOG="$OUT_DIR/gpu_check.log"
: > "$LOG"
say() { echo "$@" | tee -a "$LOG"; }
echo "$ENV_INFO" | grep -v '^HAS_' | tee -a "$LOG"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$LOG"

# The runs: on the GPU for real, on the CPU at toy sizes for a dry run (same commands, other sizes).
# mamba runs mamba_ssm's scan where it is installed, else the Triton one, else the chunked PyTorch one; the scans alone
# are the fused ones there are (the chunked scan only where there is none: seconds a step at these sizes).
BACKBONES=(sasrec sasrec-naive linrec mamba)
SCANS=()
if [ "$HAS_TRITON" = 1 ]; then SCANS+=(triton); fi
if [ "$HAS_FUSED" = 1 ]; then SCANS+=(cuda); fi
if [ "$HAS_TRITON" = 1 ] && { [ "$HAS_FUSED" = 1 ] || [ "$DRY" = 1 ]; }; then BACKBONES+=(mamba-triton); fi
if [ ${#SCANS[@]} = 0 ]; then SCANS=(torch); fi
T_CHECKS=150; T_MODELS=170; T_SCANS=60; T_TUNE=80  # 460 s at most: 8 minutes with the start
commands() {  # commands DEVICE NAME LENGTHS TUNE_FLAGS SIZE_FLAGS...: sets CHECK_CMD, MODELS_CMD, SCANS_CMD, TUNE_CMD
  local device="$1" name="$2" lengths="$3" tune_flags="$4"; shift 4
  CHECK_CMD=("$PY" bench/gpu_check.py --device "$device")
  MODELS_CMD=("$PY" -m recmamba bench --device "$device" "$@" --lengths $lengths --backbones "${BACKBONES[@]}"
              --scans --timeout 45 --out "$OUT_DIR" --name "$name-models")
  SCANS_CMD=("$PY" -m recmamba bench --device "$device" "$@" --lengths $lengths --backbones --scans "${SCANS[@]}"
             --scan-layout time --timeout 45 --out "$OUT_DIR" --name "$name-scans")
  TUNE_CMD=("$PY" bench/triton_tune.py --device "$device" $tune_flags --budget $((T_TUNE - 20)))
}
commands cuda cuda-b32 "1024 2048 4096 8192" "--batch 32 --dim 128 --d-state 32 --length 4096" --batch 32 --hidden 64 --d-state 32
if [ "$DRY" = 1 ]; then
  say "DRY RUN: every step on the CPU at toy sizes. On this machine's GPU the script would run:"
  say "  timeout $T_CHECKS ${CHECK_CMD[*]}"
  say "  timeout $T_MODELS ${MODELS_CMD[*]}"
  say "  timeout $T_SCANS ${SCANS_CMD[*]}"
  say "  timeout $T_TUNE ${TUNE_CMD[*]}"
  say "(the backbone mamba-triton only with mamba_ssm installed, when mamba itself runs mamba_ssm's scan; the scan"
  say " cuda with mamba_ssm installed; the tuning and the scan triton with triton installed)"
  DEVICE=cpu
  T_CHECKS=300; T_MODELS=300; T_SCANS=120; T_TUNE=60
  commands cpu dry-run "64 128" "--batch 1 --dim 8 --d-state 4 --length 64 --repeats 1 --chunks 16" \
    --batch 2 --hidden 16 --d-state 4 --threads 1 --repeats 1 --warmup 1
else
  DEVICE=cuda
fi

run() {  # run LABEL SECONDS CMD...: the command under a time limit, its output to the log; prints and returns its status
  local label="$1" limit="$2"; shift 2
  say ""
  say "=== $label (at most $limit s): ${*}"
  local start=$SECONDS
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$OUT_DIR/$label.log" | tee -a "$LOG"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && say "=== $label: TIMED OUT after $limit s"
  say "=== $label: exit status $rc after $((SECONDS - start)) s"
  return "$rc"
}
run checks "$T_CHECKS" "${CHECK_CMD[@]}"; RC_CHECKS=$?
run bench-models "$T_MODELS" "${MODELS_CMD[@]}"; RC_MODELS=$?
run bench-scans "$T_SCANS" "${SCANS_CMD[@]}"; RC_SCANS=$?
if [ "$HAS_TRITON" = 1 ]; then run triton-tune "$T_TUNE" "${TUNE_CMD[@]}"; RC_TUNE=$?; else RC_TUNE=0; fi

verdict() {
  if [ "$1" = 0 ]; then echo ok; elif [ "$1" = 124 ] || [ "$1" = 137 ]; then echo "TIMED OUT"; else echo "FAILED (exit $1)"; fi
}
say ""
say "=== SUMMARY: $([ "$DRY" = 1 ] && echo 'DRY RUN on the CPU' || echo "$DEVICE"), $SECONDS s in all"
say "correctness checks: $(verdict $RC_CHECKS); $(grep -hE 'ALL OK|FAILED$' "$OUT_DIR/checks.log" | tail -1)"
grep -hE '^FAIL ' "$OUT_DIR/checks.log" | sed 's/^/  /' | tee -a "$LOG"
say "benchmark: models $(verdict $RC_MODELS), scans $(verdict $RC_SCANS)$([ "$HAS_TRITON" = 1 ] && echo ", Triton tile sizes $(verdict $RC_TUNE)")"
grep -hE '^(MET|MISS) ' "$OUT_DIR/bench-models.log" "$OUT_DIR/bench-scans.log" | sed 's/^/  /' | tee -a "$LOG"
grep -hE ' (timeout|out of memory|failed): ' "$OUT_DIR/bench-models.log" "$OUT_DIR/bench-scans.log" | sed 's/^/  not measured: /' | tee -a "$LOG"
[ "$HAS_TRITON" = 1 ] && grep -hE '^(default|BEST) ' "$OUT_DIR/triton-tune.log" | sed 's/^/  triton tile sizes: /' | tee -a "$LOG"
say "files in $OUT_DIR: $(cd "$OUT_DIR" && ls -- *.log *.json *.html 2>/dev/null | tr '\n' ' ')"
[ "$RC_CHECKS" = 0 ] && [ "$RC_MODELS" = 0 ] && [ "$RC_SCANS" = 0 ] && [ "$RC_TUNE" = 0 ]
