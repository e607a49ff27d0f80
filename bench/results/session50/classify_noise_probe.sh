#!/bin/bash
# classify_noise_probe.sh NAME CKPT CORE: a classifier on the val scenes and the TimGM6mb families with the noise as
# synthesised (full band) and low-passed at 8 kHz, as recorded noise is; reports in bench/results/session50/probe_<NAME>/.
set -e
source .venv/bin/activate
name=$1; ckpt=$2; core=${3:-0}; out=bench/results/session50/probe_$name
mkdir -p "$out"
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" PYTHONPATH=.
e() { taskset -c "$core" python -m bench.classify_eval --model "$ckpt" "$@"; }
e --out "$out/val" > "$out/val.log" 2>&1
e --noise-lowpass 8000 --out "$out/val_noise_lowpass8000" > "$out/val_noise_lowpass8000.log" 2>&1
e --music-source families-unseen-soundfonts --clips 440 --noise-lowpass 8000 --out "$out/families_unseen_sf_noise_lowpass8000" > "$out/families_unseen_sf_noise_lowpass8000.log" 2>&1
echo "done $name"
