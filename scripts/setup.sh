#!/usr/bin/env bash
# Set up rtmusic in ./.venv: system audio libraries, a virtualenv, and the package in editable mode.
#
#   bash scripts/setup.sh          # to run rtmusic: PortAudio + libsndfile, then `pip install -e .`
#   bash scripts/setup.sh --test   # to run the tests too: also JACK, FluidSynth + GM soundfonts (FluidR3 for
#                                  # training, TimGM6mb for the unseen-soundfont test set), espeak-ng,
#                                  # Flite + Festival voices (the unseen-speech test set) and sox,
#                                  # then `pip install -e ".[test,train,compare]"`
#
# Safe to run again: it installs only what is missing. Debian/Ubuntu packages are installed when we
# are root or sudo exists; elsewhere it says which ones to install. PYTHON=python3.12 picks the Python.
# Prints one line per stage; a failing step prints its log.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

MODE=run
for arg in "$@"; do
  case "$arg" in
    --test) MODE=test ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option '$arg' (use --test or --help)" >&2; exit 2 ;;
  esac
done

PYTHON="${PYTHON:-python3}"
VENV=.venv
RUN_PACKAGES=(libportaudio2 libsndfile1)
TEST_PACKAGES=(jackd2 fluidsynth fluid-soundfont-gm timgm6mb-soundfont espeak-ng sox
               # the unseen-speech test set's synthesisers, as train/render_unseen_speech.py PACKAGES lists them
               flite festival festvox-ca-ona-hts festvox-czech-dita festvox-czech-machac festvox-italp16k
               festvox-itapc16k festvox-kallpc16k festvox-kdlpc16k festvox-suopuhe-lj festvox-suopuhe-mv
               festvox-us-slt-hts)
if [ "$MODE" = test ]; then
  APT_PACKAGES=("${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}")
  PIP_TARGET=".[test,train,compare]"
else
  APT_PACKAGES=("${RUN_PACKAGES[@]}")
  PIP_TARGET="."
fi

LOG_DIR="$(mktemp -d)"
trap 'rm -rf "$LOG_DIR"' EXIT

# quiet NAME CMD...: run CMD with its output in a log; on failure print the log's tail and stop.
quiet() {
  local name="$1"; shift
  if ! "$@" >"$LOG_DIR/$name.log" 2>&1; then
    echo "setup: '$*' failed; its output:" >&2
    tail -n 40 "$LOG_DIR/$name.log" >&2
    exit 1
  fi
}

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

SUDO=()
can_apt() {
  command -v apt-get >/dev/null 2>&1 || return 1
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); return 0; fi
  command -v sudo >/dev/null 2>&1 || return 1
  SUDO=(sudo); return 0
}

APT_UPDATED=0
apt_install() {  # apt_install PKG...: install with no questions (jackd2's realtime question is preseeded)
  if [ "$APT_UPDATED" -eq 0 ]; then
    quiet apt-update "${SUDO[@]}" apt-get update -q
    APT_UPDATED=1
  fi
  if printf '%s\n' "$@" | grep -qx jackd2; then
    echo "jackd2 jackd/tweak_rt_limits boolean false" | quiet debconf "${SUDO[@]}" debconf-set-selections
  fi
  quiet apt-install "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "$@"
}

# ---------------------------------------------------------------- system packages
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup: system packages: not Debian/Ubuntu — install the equivalents of ${APT_PACKAGES[*]} yourself"
else
  MISSING=()
  for pkg in "${APT_PACKAGES[@]}"; do is_installed "$pkg" || MISSING+=("$pkg"); done
  if [ "${#MISSING[@]}" -eq 0 ]; then
    echo "setup: system packages: already installed (${APT_PACKAGES[*]})"
  elif can_apt; then
    apt_install "${MISSING[@]}"
    echo "setup: system packages: installed ${MISSING[*]}"
  elif [ "$MODE" = test ]; then
    echo "setup: system packages: missing ${MISSING[*]} and not root — run: sudo apt-get install ${MISSING[*]}" >&2
    exit 1
  else
    echo "setup: system packages: missing ${MISSING[*]} — run: sudo apt-get install ${MISSING[*]} (continuing)"
  fi
fi

# ------------------------------------------------------------------------ Python
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup: $PYTHON not found — install Python 3.10 or newer, or set PYTHON=/path/to/python3" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "setup: $("$PYTHON" --version 2>&1) is too old — rtmusic needs Python 3.10 or newer (set PYTHON=...)" >&2
  exit 1
fi

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1; then
  echo "setup: virtualenv: $VENV exists ($("$VENV/bin/python" --version 2>&1))"
else
  rm -rf "$VENV"
  # Debian's own python3 ships venv without ensurepip; python3-venv brings it back.
  if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    venv_pkg="python3-venv"
    if can_apt; then
      apt_install "$venv_pkg"
    else
      echo "setup: '$PYTHON -m venv' needs $venv_pkg — run: sudo apt-get install $venv_pkg" >&2
      exit 1
    fi
  fi
  quiet venv "$PYTHON" -m venv "$VENV"
  echo "setup: virtualenv: created $VENV ($("$VENV/bin/python" --version 2>&1))"
fi

# The stamp records what was installed from which pyproject.toml, so a second run skips pip.
STAMP="$VENV/.rtmusic-installed"
WANT="$PIP_TARGET $(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ -f "$STAMP" ] && grep -qxF "$WANT" "$STAMP"; then
  echo "setup: python packages: up to date ($PIP_TARGET)"
else
  quiet pip "$VENV/bin/python" -m pip install --disable-pip-version-check -q -e "$PIP_TARGET"
  echo "$WANT" >>"$STAMP"
  echo "setup: python packages: installed -e $PIP_TARGET"
fi

# ------------------------------------------------------------------------- check
quiet check "$VENV/bin/python" -c 'import rtmusic'
if [ "$MODE" = test ]; then
  quiet check "$VENV/bin/python" -c 'import sounddevice, soundfile, jack, pytest'
  for tool in jackd jack_lsp; do
    command -v "$tool" >/dev/null 2>&1 || { echo "setup: $tool not found after install" >&2; exit 1; }
  done
fi
echo "setup: ready — $VENV/bin/rtmusic ($MODE mode)"
