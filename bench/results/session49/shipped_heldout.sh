#!/bin/bash
# shipped_heldout.sh CORE SOURCE: the new default against session 48's (its file from git) on a held-out set.
set -e
source .venv/bin/activate
core=$1; shift
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" PYTHONPATH=.
git show 1150dc2:rtmusic/weights/denoiser.rtm > /tmp/session48_default.rtm
taskset -c "$core" python -m bench.quality --model default /tmp/session48_default.rtm --competitors none --no-perceptual --no-progress "$@"
