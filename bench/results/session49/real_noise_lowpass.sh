#!/bin/bash
# real_noise_lowpass.sh HZ CORE: the default and the band-limit candidates on the real recordings with the noise
# low-passed at HZ (bench.real_audio --noise-lowpass); reports in bench/results/session49/real_audio_noise_lowpass<HZ>/.
set -e
source .venv/bin/activate
hz=$1; core=${2:-1}; R=~/.cache/rtmusic/runs
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" PYTHONPATH=.
taskset -c "$core" python -m bench.real_audio --model default $R/denoise_sisdr_bandlimit_noise/ema_1500.rtm \
  $R/denoise_sisdr_topband/ema_1000.rtm $R/denoise_sisdr_voice/ema_1500.rtm $R/denoise_sisdr_voice/avg_default_ema1500.rtm \
  --noise-lowpass "$hz" --no-progress --out bench/results/session49/real_audio_noise_lowpass$hz
