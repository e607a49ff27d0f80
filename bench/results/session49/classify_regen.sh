#!/bin/bash
# classify_regen.sh CORE: bench/results/classify* regenerated for the shipped classifier (bench/README.md's commands).
set -e
source .venv/bin/activate
core=${1:-1}
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" PYTHONPATH=.
run() { taskset -c "$core" python -m bench.classify_eval "$@"; }
run --music-source families-unseen-soundfonts --clips 440
run --music-source unseen-soundfonts
run
run --music-source families --clips 440
run --music-source val-excerpts
run --speech-source unseen-tts
echo "done classify_regen"
