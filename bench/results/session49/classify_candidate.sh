#!/bin/bash
# classify_candidate.sh NAME CKPT CORE: a classifier on the held-out pieces in TimGM6mb (families, 440 clips) and the
# unseen-soundfont scenes; reports in bench/results/session49/classify_<NAME>/.
set -e
source .venv/bin/activate
name=$1; ckpt=$2; core=${3:-0}; out=${OUT_ROOT:-bench/results/session49}/classify_$name
mkdir -p "$out"
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" PYTHONPATH=.
taskset -c "$core" python -m bench.classify_eval --model "$ckpt" --music-source families-unseen-soundfonts --clips 440 --out "$out/families_unseen_sf" > "$out/families_unseen_sf.log" 2>&1
taskset -c "$core" python -m bench.classify_eval --model "$ckpt" --music-source unseen-soundfonts --out "$out/unseen_sf" > "$out/unseen_sf.log" 2>&1
taskset -c "$core" python bench/results/session48/probe/classify_real_voice.py "$ckpt" > "$out/real_voice.txt" 2>&1
echo "done $name"
