#!/usr/bin/env bash
# Issue 3's GPU check: on one GPU, in at most 8 minutes, with no network and no installs,
#   1. bench/gpu_check.py: the scan's CUDA path (the chunked PyTorch scan, and mamba_ssm's kernel where installed)
#      against the float64 reference, forward and gradients on several shapes, and every backbone on the GPU against
#      the CPU with its padding, causality and scoring properties;
#   2. `recmamba bench --device cuda --batch 32` for every backbone at L = 256 ... 8192;
#   3. the scans alone at L = 1024 and 4096 (the fused kernel where installed, the chunked and the sequential PyTorch
#      scans), on time-contiguous inputs as mamba_ssm's module passes them, bounded so that the whole fits;
# then a summary. Logs, JSON reports and HTML figures go to --out (default $OUT if set, else reports/bench).
#
# Usage:  bench/gpu_check.sh [--dry-run] [--out DIR]
#   Runs from any directory; the checkout is put first on PYTHONPATH, so the package need not be installed, but its
#   requirements (torch with CUDA, numba, plotly, pandas) must import with $PYTHON (default python3).
#   --dry-run  every step on the CPU at toy sizes, to check the script, the package and the plumbing anywhere; the
#              GPU commands are printed as they would run (output to a temporary directory unless --out is given).
# Exit status: 0 all checks passed and both benchmark runs completed; 1 something failed or timed out;
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
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument '$1' (usage: bench/gpu_check.sh [--dry-run] [--out DIR])" >&2; exit 2 ;;
  esac
  shift
done
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

# 0. Can it run here?
ENV_PROBE='
import platform, numba, plotly, torch, recmamba
from recmamba.scan import resolve_scan_impl
cuda = torch.cuda.is_available()
fused = cuda and resolve_scan_impl(None, "cuda") == "cuda"
print(f"python {platform.python_version()}, torch {torch.__version__} (CUDA {torch.version.cuda}), numba {numba.__version__}, "
      f"recmamba {recmamba.__version__} from {recmamba.__file__}")
print("gpu:", torch.cuda.get_device_name(0) if cuda else "none", "| selective scan on CUDA:",
      "mamba_ssm kernel" if fused else "chunked PyTorch scan (mamba_ssm not installed)" if cuda else "-")
print(f"HAS_CUDA={int(cuda)} HAS_FUSED={int(fused)}")
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
BACKBONES=(sasrec sasrec-naive linrec mamba)
SCANS=(torch ref)
if [ "$HAS_FUSED" = 1 ]; then BACKBONES+=(mamba-torch); SCANS=(cuda "${SCANS[@]}"); fi
T_CHECKS=120; T_MODELS=270; T_SCANS=80  # 470 s at most: 8 minutes with the start
commands() {  # commands DEVICE NAME MODEL_LENGTHS SCAN_LENGTHS SIZE_FLAGS...: sets CHECK_CMD, MODELS_CMD, SCANS_CMD
  local device="$1" name="$2" model_lengths="$3" scan_lengths="$4"; shift 4
  CHECK_CMD=("$PY" bench/gpu_check.py --device "$device")
  MODELS_CMD=("$PY" -m recmamba bench --device "$device" "$@" --lengths $model_lengths --backbones "${BACKBONES[@]}"
              --scans --timeout 45 --out "$OUT_DIR" --name "$name-models")
  SCANS_CMD=("$PY" -m recmamba bench --device "$device" "$@" --lengths $scan_lengths --backbones --scans "${SCANS[@]}"
             --scan-layout time --timeout 45 --out "$OUT_DIR" --name "$name-scans")
}
commands cuda cuda-b32 "256 512 1024 2048 4096 8192" "1024 4096" --batch 32
if [ "$DRY" = 1 ]; then
  say "DRY RUN: every step on the CPU at toy sizes. On this machine's GPU the script would run:"
  say "  timeout $T_CHECKS ${CHECK_CMD[*]}"
  say "  timeout $T_MODELS ${MODELS_CMD[*]}"
  say "  timeout $T_SCANS ${SCANS_CMD[*]}"
  say "(with mamba_ssm installed, also the backbone mamba-torch and the scan cuda)"
  DEVICE=cpu
  commands cpu dry-run "64 128" "64" --batch 2 --hidden 16 --d-state 4 --threads 1 --repeats 1 --warmup 1
  T_CHECKS=300; T_MODELS=300; T_SCANS=120
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

verdict() {
  if [ "$1" = 0 ]; then echo ok; elif [ "$1" = 124 ] || [ "$1" = 137 ]; then echo "TIMED OUT"; else echo "FAILED (exit $1)"; fi
}
say ""
say "=== SUMMARY: $([ "$DRY" = 1 ] && echo 'DRY RUN on the CPU' || echo "$DEVICE"), $SECONDS s in all"
say "correctness checks: $(verdict $RC_CHECKS); $(grep -hE 'ALL OK|FAILED$' "$OUT_DIR/checks.log" | tail -1)"
grep -hE '^FAIL ' "$OUT_DIR/checks.log" | sed 's/^/  /' | tee -a "$LOG"
say "benchmark: models $(verdict $RC_MODELS), scans $(verdict $RC_SCANS)"
grep -hE '^(MET|MISS) ' "$OUT_DIR/bench-models.log" "$OUT_DIR/bench-scans.log" | sed 's/^/  /' | tee -a "$LOG"
grep -hE ' (timeout|out of memory|failed): ' "$OUT_DIR/bench-models.log" "$OUT_DIR/bench-scans.log" | sed 's/^/  not measured: /' | tee -a "$LOG"
say "files in $OUT_DIR: $(cd "$OUT_DIR" && ls -- *.log *.json *.html 2>/dev/null | tr '\n' ' ')"
[ "$RC_CHECKS" = 0 ] && [ "$RC_MODELS" = 0 ] && [ "$RC_SCANS" = 0 ]
