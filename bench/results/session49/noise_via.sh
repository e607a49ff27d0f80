#!/bin/bash
# noise_via.sh RATE CORE: the default and session 47-49's band-limit candidates with the val noise band-limited
# (bench.quality --noise-via-rate RATE), clip by clip against the default; reports in bench/results/session49/noise_via<RATE>/.
set -e
source .venv/bin/activate
rate=$1; core=${2:-1}; R=~/.cache/rtmusic/runs
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" PYTHONPATH=.
taskset -c "$core" python -m bench.quality --model default $R/denoise_sisdr_bandlimit_noise/ema_1500.rtm \
  $R/denoise_sisdr_topband/ema_1000.rtm $R/denoise_sisdr_voice/ema_1500.rtm $R/denoise_sisdr_voice/avg_default_ema1500.rtm --competitors none --no-perceptual \
  --noise-via-rate "$rate" --no-progress --out bench/results/session49/noise_via$rate
