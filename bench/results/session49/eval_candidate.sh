#!/bin/bash
# eval_candidate.sh NAME CHECKPOINT CORE: the default against one candidate on the full-band val set, the val set
# from a 44.1 kHz source and the real recordings; reports in bench/results/session49/<NAME>/.
set -e
source .venv/bin/activate
name=$1; ckpt=$2; core=${3:-1}
out=bench/results/session49/$name
mkdir -p "$out"
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" PYTHONPATH=.
taskset -c "$core" python -m bench.quality --model default "$ckpt" --competitors none --no-perceptual --no-progress --out "$out/quality_val" > "$out/quality_val.log" 2>&1
taskset -c "$core" python -m bench.quality --model default "$ckpt" --competitors none --no-perceptual --via-rate 44100 --no-progress --out "$out/quality_via44100" > "$out/quality_via44100.log" 2>&1
taskset -c "$core" python -m bench.real_audio --model default "$ckpt" --no-progress --out "$out/real_audio" > "$out/real_audio.log" 2>&1
echo "done $name"
