#!/bin/bash
# robust_eval.sh NAME CHECKPOINT CORE: the default against one candidate, clip by clip, on the full-band val set, the
# val set from a 44.1 kHz source, the val set with its noise band-limited as a 44.1 kHz and a 16 kHz recording has it,
# and the real recordings under full-band and 8 kHz-limited noise; reports in bench/results/session49/<NAME>/.
# BASE=lookahead compares against another shipped model than the default.
set -e
source .venv/bin/activate
name=$1; ckpt=$2; core=${3:-1}; base=${BASE:-default}
out=${OUT_ROOT:-bench/results/session49}/$name  # OUT_ROOT: another session's results folder
mkdir -p "$out"
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" PYTHONPATH=.
q() { taskset -c "$core" python -m bench.quality --model "$base" "$ckpt" --competitors none --no-perceptual --no-progress "$@"; }
q --out "$out/quality_val" > "$out/quality_val.log" 2>&1
q --via-rate 44100 --out "$out/quality_via44100" > "$out/quality_via44100.log" 2>&1
q --noise-via-rate 44100 --out "$out/quality_noise_via44100" > "$out/quality_noise_via44100.log" 2>&1
q --noise-via-rate 16000 --out "$out/quality_noise_via16000" > "$out/quality_noise_via16000.log" 2>&1
taskset -c "$core" python -m bench.real_audio --model "$base" "$ckpt" --no-progress --out "$out/real_audio" > "$out/real_audio.log" 2>&1
taskset -c "$core" python -m bench.real_audio --model "$base" "$ckpt" --noise-lowpass 8000 --no-progress --out "$out/real_audio_noise_lowpass8000" > "$out/real_audio_noise_lowpass8000.log" 2>&1
echo "done $name"
