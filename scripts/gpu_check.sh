#!/usr/bin/env bash
# One-shot GPU check (issue 16): everything the project wants to know from a GPU, in one command
# of at most 8 minutes on one GPU, ending with a markdown summary.
#
#   scripts/gpu_check.sh                      # on CUDA
#   scripts/gpu_check.sh --device cpu --short # dry run of every stage at toy size (minutes on CPU)
#
# Stages (each under its own time limit, so the whole stays below 8 minutes; a stage that fails
# or runs out of time is reported and the next one still runs):
#   1. pytest: the fast suite plus the gpu-marked tests (-m "not slow"): contract suites run on
#      cpu and cuda, gpu tests check sync-free sampler steps (set_sync_debug_mode("error"))
#   2. scripts/bench_step.py: SIREN 5x256 on 65 536 points, fp32 / tf32 / bf16, eager and
#      compiled: steps/s and achieved TFLOP/s as a fraction of each precision's matmul peak
#      measured in the same run
#   3. scripts/bench_nint.py: exact NINT scoring of all points against a training step
#   3b. scripts/bench_precision.py --parts precision: PSNR after 300 steps in fp32 / bf16 / tf32
#      on three Kodak crops (does tf32 or bf16 cost quality on this GPU?)
#   4. scripts/reproduce_aire.py --experiment aire_div2k on 2 DIV2K images, AIRe row, in tf32,
#      at $AIRE_STEPS steps (default 500 of the paper's 5000: the stages are fractions of the run)
#
# Environment: PYTHON (default python), GPU_CHECK_OUT (default outputs/gpu_check/<time>),
# AIRE_STEPS. Needs INR_BENCH_DATA (a data root holding div2k/) for DIV2K. Exit status: 0 when every
# stage passed.
set -uo pipefail

device=cuda
short=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --short) short=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (use --device cuda|cpu, --short)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
python=${PYTHON:-python}
out=${GPU_CHECK_OUT:-outputs/gpu_check/$(date +%Y-%m-%d_%H-%M-%S)}
mkdir -p "$out"
export WANDB_MODE=${WANDB_MODE:-disabled}
: > "$out/stages.tsv"

# stage NAME LIMIT_S COMMAND...: run with a time limit, log to $out/NAME.log, record the result
stage() {
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit}s): $*"
  local start=$SECONDS
  timeout --signal=INT --kill-after=15 "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  local status=pass
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then status="timeout (${limit}s)"; elif [[ $rc -ne 0 ]]; then status="fail (rc $rc)"; fi
  printf '%s\t%s\t%s\n' "$name" "$status" "$((SECONDS - start))" >> "$out/stages.tsv"
  tail -n 3 "$out/$name.log"
}

if [[ $short -eq 1 ]]; then
  tests=(tests/test_device.py tests/test_surgery.py tests/test_samplers.py -k "contract or device or sync or surgery or adam")
  step_args=(--size 32 --repeats 2 --peak-size 512 --precision fp32 tf32 bf16 --compile both backbone.hidden_layers=1 backbone.hidden_features=64)
  nint_args=(--size 32 --repeats 2 backbone.hidden_layers=1 backbone.hidden_features=64)
  precision_args=(--crop 32 --steps 5)
  aire_args=(--images 2 --rows AIRe device="$device" steps=20 eval_every=10 signal.resize=32 chunk=4096)
  limits=(240 240 120 120 240)
else
  tests=(tests)
  step_args=(--precision fp32 tf32 bf16 --compile both)
  nint_args=()
  precision_args=(--crop 128 --steps 300)
  aire_args=(--images 2 --rows AIRe device="$device" precision=tf32 steps="${AIRE_STEPS:-500}"
    eval_every=250)
  limits=(150 110 35 45 130)
fi
nint_args+=(--device "$device")

# -m "not slow" replaces the default "not slow and not gpu": gpu tests run (skipped without CUDA)
stage pytest "${limits[0]}" "$python" -m pytest -q -m "not slow" "${tests[@]}"
stage bench_step "${limits[1]}" "$python" scripts/bench_step.py --device "$device" \
  --out "$out/bench_step.json" "${step_args[@]}"
stage bench_nint "${limits[2]}" "$python" scripts/bench_nint.py --out "$out/bench_nint.json" \
  "${nint_args[@]}"
stage precision "${limits[3]}" "$python" scripts/bench_precision.py --parts precision \
  --device "$device" --out "$out/bench_precision.json" "${precision_args[@]}"
stage aire "${limits[4]}" "$python" scripts/reproduce_aire.py --experiment aire_div2k \
  --out "$out/aire" "${aire_args[@]}"

"$python" - "$out" "$device" "$short" <<'PY'
import json, re, sys
from pathlib import Path

out, device, short = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
lines = [f"# GPU check: device {device}{' (--short dry run)' if short else ''}", ""]
lines += ["| stage | result | seconds |", "|---|---|---|"]
stages = [row.split("\t") for row in (out / "stages.tsv").read_text().splitlines()]
lines += [f"| {name} | {status} | {secs} |" for name, status, secs in stages]
log = (out / "pytest.log").read_text() if (out / "pytest.log").exists() else ""
counts = re.findall(r"^=*\s*(\d+ (?:passed|failed|skipped|deselected|error).*?)\s*=*$", log, re.M)
lines += ["", f"pytest: {counts[-1] if counts else 'no summary line (see pytest.log)'}"]
step = out / "bench_step.json"
if step.exists():
    s = json.loads(step.read_text())
    peaks = ", ".join(f"{p} {v:.3g}" for p, v in s["matmul_peak_tflops"].items())
    lines += ["", f"## Step: {s['device']}, {s['points']} points, chunk {s['chunk']}, "
              f"{s['params']} parameters, {s['step_gflop']:.3g} GFLOP/step",
              f"matmul peaks (TFLOP/s): {peaks}", "",
              "| variant | steps/s | TFLOP/s | of its peak | eval points/s |", "|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['steps_per_s']:.3g} | {r['step_tflops']:.3g} | "
              f"{r['step_fraction_of_peak']:.1%} | {r['eval_points_per_s']:.3g} |"
              for r in s["variants"]]
nint = out / "bench_nint.json"
if nint.exists():
    n = json.loads(nint.read_text())
    lines += ["", f"## NINT scoring ({n['points']} points): score {n['score_s'] * 1e3:.3g} ms = "
              f"{n['score_over_step20']:.3g} x a 20 % step, {n['score_over_full_step']:.3g} x a "
              f"full step; device: {n['device']}"]
prec = out / "bench_precision.json"
if prec.exists():
    p = json.loads(prec.read_text())
    lines += ["", "## PSNR after training per precision (Kodak crops)", "",
              "| precision | mean PSNR | median step ms |", "|---|---|---|"]
    lines += [f"| {r['precision']} | {r['mean_psnr']:.2f} | {r['median_step_ms']:.3g} |"
              for r in p["precision_means"]]
table = out / "aire" / "table.md"
lines += ["", "## AIRe (aire_div2k, 2 images)", table.read_text() if table.exists() else "no table"]
print("\n".join(lines))
(out / "summary.md").write_text("\n".join(lines) + "\n")
PY
echo "summary: $out/summary.md"
! grep -qv $'\tpass\t' "$out/stages.tsv"
