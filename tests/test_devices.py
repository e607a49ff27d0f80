"""rtmusic.devices on made-up device lists, and `rtmusic devices` on the real JACK server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rtmusic.devices import (
    DeviceInfo,
    format_device_table,
    pick_device,
    require_audio_devices,
    resolve_device,
)
from rtmusic.errors import DeviceError, ParameterError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def device(index, name, ins, outs, hostapi="ALSA", default_in=False, default_out=False):
    return DeviceInfo(
        index=index,
        name=name,
        hostapi=hostapi,
        max_input_channels=ins,
        max_output_channels=outs,
        default_samplerate=48000.0,
        is_default_input=default_in,
        is_default_output=default_out,
    )


DEVICES = [
    device(0, "HDA Intel PCH: ALC3246 Analog (hw:0,0)", 2, 2),
    device(1, "USB Audio Mic (hw:1,0)", 1, 0),
    device(2, "USB Audio Speaker (hw:2,0)", 0, 2),
    device(3, "pulse", 32, 32, default_in=True, default_out=False),
    device(4, "default", 32, 32, default_out=True),
    device(5, "system", 2, 2, hostapi="JACK Audio Connection Kit"),
]


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "rtmusic", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )


# ------------------------------------------------------------------ resolve_device


def test_none_means_system_default():
    assert resolve_device(None, "input", DEVICES) is None


@pytest.mark.parametrize("spec", [0, "0", " 0 ", 5, "5"])
def test_resolve_by_index(spec):
    assert resolve_device(spec, "output", DEVICES) == int(str(spec).strip())


def test_resolve_by_substring_any_case():
    assert resolve_device("usb audio MIC", "input", DEVICES) == 1
    assert resolve_device("SPEAKER", "output", DEVICES) == 2
    assert resolve_device("jack", "input", DEVICES) == 5  # the host API name matches too


def test_substring_only_considers_devices_of_that_kind():
    assert resolve_device("usb", "input", DEVICES) == 1  # the speaker has no input channels
    assert resolve_device("usb", "output", DEVICES) == 2


def test_exact_name_wins_over_substring_matches():
    devices = [*DEVICES, device(6, "pulse monitor", 2, 0)]
    assert resolve_device("pulse", "input", devices) == 3


def test_ambiguous_name_lists_every_candidate():
    with pytest.raises(DeviceError) as info:
        resolve_device("hw:", "input", DEVICES)
    message = str(info.value)
    assert "matches 2 input devices" in message
    assert "0 HDA Intel PCH" in message and "1 USB Audio Mic" in message
    assert "index" in message


def test_invalid_index_lists_valid_ones():
    with pytest.raises(DeviceError) as info:
        resolve_device(9, "input", DEVICES)
    assert "valid input indices: 0, 1, 3, 4, 5" in str(info.value)


def test_index_of_a_device_without_channels_of_that_kind_is_rejected():
    with pytest.raises(DeviceError, match="no output device with index 1"):
        resolve_device("1", "output", DEVICES)


def test_no_match_suggests_the_devices_command():
    with pytest.raises(DeviceError, match="rtmusic devices"):
        resolve_device("focusrite", "output", DEVICES)


def test_bad_arguments():
    with pytest.raises(ParameterError):
        resolve_device(1.5, "input", DEVICES)
    with pytest.raises(ParameterError):
        resolve_device(0, "both", DEVICES)


# ------------------------------------------------------- require / table / picker


def test_no_device_message_is_one_actionable_line():
    outputs_only = [device(0, "hdmi", 0, 2)]
    with pytest.raises(DeviceError) as info:
        require_audio_devices(outputs_only)
    message = str(info.value)
    assert message.startswith("no audio input device found — plug one in")
    assert "jackd -d alsa" in message and "rtmusic process IN OUT" in message
    assert "\n" not in message
    with pytest.raises(DeviceError, match="no audio output device found"):
        require_audio_devices([device(0, "mic", 1, 0)])
    require_audio_devices(outputs_only, need_input=False)
    require_audio_devices(DEVICES)


def test_table_marks_defaults_like_python_m_sounddevice():
    both = [device(0, "a", 2, 2, default_in=True, default_out=True), device(1, "b", 0, 2)]
    lines = format_device_table(DEVICES).splitlines()
    assert lines[3].startswith("> 3 pulse, ALSA (32 in, 32 out) 48000 Hz")
    assert lines[4].startswith("< 4 default, ALSA")
    assert lines[0].startswith("  0 HDA Intel PCH")
    assert lines[-1] == "(> default input, < default output, * both)"
    assert format_device_table(both).splitlines()[0].startswith("* 0 a, ALSA (2 in, 2 out)")
    wide = format_device_table([device(3, "x", 1, 1), device(12, "y", 1, 1)]).splitlines()
    assert wide[0].startswith("   3 x") and wide[1].startswith("  12 y")


def test_table_of_nothing_says_what_to_do():
    assert format_device_table([]).startswith("no audio devices found — plug one in")


def test_pick_reasks_until_the_answer_resolves(capsys):
    answers = iter(["42", "hw:", "speaker", "audio mic"])
    prompts = []

    def fake_input(prompt):
        prompts.append(prompt)
        return next(answers)

    assert pick_device("input", fake_input, DEVICES) == 1
    out = capsys.readouterr().out
    assert "> 3 pulse" in out  # the table was shown
    assert "no input device with index 42" in out
    assert "matches 2 input devices" in out
    assert "no input device matches 'speaker'" in out
    assert len(prompts) == 4 and "Enter = default 3" in prompts[0]


def test_pick_enter_means_default():
    assert pick_device("output", lambda prompt: "", DEVICES) == 4


def test_pick_without_default_reasks_on_enter(capsys):
    no_defaults = [device(0, "a", 2, 2), device(1, "b", 2, 2)]
    answers = iter(["", "1"])
    assert pick_device("input", lambda prompt: next(answers), no_defaults) == 1
    assert "there is no default input device" in capsys.readouterr().out


def test_pick_with_closed_stdin_raises_device_error():
    def closed(prompt):
        raise EOFError

    with pytest.raises(DeviceError, match="input closed"):
        pick_device("output", closed, DEVICES)


def test_pick_with_no_device_of_that_kind():
    with pytest.raises(DeviceError, match="no audio input device found"):
        pick_device("input", lambda prompt: "", [device(0, "hdmi", 0, 2)])


# --------------------------------------------------------------------- CLI


def test_devices_command_does_not_import_jax():
    code = (
        "import sys\n"
        "from rtmusic.cli import main\n"
        "assert main(['devices']) == 0\n"
        "heavy = sorted(m for m in ('jax', 'flax', 'optax', 'numba') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_devices_command_lists_the_jack_device(jack_server):
    result = run_cli("devices")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("* ")  # JACK's one device is the default input and output
    assert "system, JACK Audio Connection Kit (2 in, 2 out) 48000 Hz" in first


def test_devices_json_on_the_jack_server(jack_server):
    result = run_cli("devices", "--json")
    assert result.returncode == 0, result.stderr
    devices = json.loads(result.stdout)
    jack = [d for d in devices if d["hostapi"] == "JACK Audio Connection Kit"]
    assert len(jack) == 1
    assert jack[0]["name"] == "system"
    assert jack[0]["max_input_channels"] == 2 and jack[0]["max_output_channels"] == 2
    assert jack[0]["default_samplerate"] == 48000.0
    assert jack[0]["is_default_input"] and jack[0]["is_default_output"]
    assert set(jack[0]) == {f.name for f in DeviceInfo.__dataclass_fields__.values()}


def test_devices_json_without_a_jack_server_has_no_jack_device():
    env = {**os.environ, "JACK_DEFAULT_SERVER": "rtmusic-test-absent", "JACK_NO_START_SERVER": "1"}
    result = run_cli("devices", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert all(d["hostapi"] != "JACK Audio Connection Kit" for d in json.loads(result.stdout))
