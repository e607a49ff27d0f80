"""`rtmusic run`: live processing from an input device through a model to an output device."""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
import time

from rtmusic.errors import ParameterError, StreamAborted

EXIT_ABORTED = 3
STATUS_PERIOD_S = 0.25

EPILOG = """examples:
  rtmusic run                               # default input -> default model -> default output
  rtmusic run --pick                        # choose devices from a table
  rtmusic run -i 2 -o usb --model bypass    # by index / by name substring
  rtmusic run --model lookahead             # 5 ms more latency (15 ms), cleaner transients
  rtmusic run --atten-lim 12 --record out.wav --duration 60 --stats-json stats.json
  rtmusic run --task classify --labels-jsonl labels.jsonl   # live labels (audio passes through, same latency)
  rtmusic run --task denoise,classify                       # both in one stream, one step per hop
  rtmusic run --cpu-core none                               # let the OS move the model's threads freely
  rtmusic run --samplerate 44100                            # a device at 44.1 kHz: resampled, 10 ms hops
"""


def int_or_str(text: str):
    """Device arguments: an index or a name substring."""
    try:
        return int(text)
    except ValueError:
        return text


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="process the live input stream", description=__doc__, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-i", "--input", type=int_or_str, metavar="DEV", help="input device: index or name substring")
    p.add_argument("-o", "--output", type=int_or_str, metavar="DEV", help="output device: index or name substring")
    p.add_argument("--pick", action="store_true", help="show the device table and ask for input and output")
    p.add_argument("--model", default="default", metavar="NAME|PATH",
                   help="built-in model: default (10 ms), lookahead (15 ms, cleaner), bypass, lstm-random; "
                        "or a .rtm checkpoint (default: %(default)s)")
    p.add_argument("--task", default="denoise", metavar="TASKS",
                   help="denoise, classify (audio passes through unchanged, delay-aligned) or denoise,classify "
                        "(default: %(default)s)")
    p.add_argument("--classifier", default="default", metavar="NAME|PATH",
                   help="classifier for --task classify: default, classifier-random or a .rtm checkpoint")
    p.add_argument("--labels-jsonl", metavar="FILE",
                   help="with classify: write one JSON line of label probabilities per 100 ms of input")
    p.add_argument("--samplerate", type=int, metavar="HZ",
                   help="stream rate (default: the model's, 48000, if the devices take it, else the input device's "
                        "own); at another rate, e.g. 44100, the worker resamples to the model's")
    p.add_argument("--blocksize", type=int, default=0, metavar="FRAMES",
                   help="host block size; 0 lets the audio server choose and adds no buffering (default: 0)")
    p.add_argument("--safety-ms", type=float, default=3.0, metavar="MS",
                   help="extra pre-fill that absorbs compute jitter; raise it if deadline misses show (default: %(default)s)")
    p.add_argument("--latency-budget", type=float, default=50.0, metavar="MS",
                   help="refuse to start if the total latency exceeds this (default: %(default)s ms)")
    p.add_argument("--input-channel", type=int, default=1, metavar="N", help="input channel to process (1-based)")
    p.add_argument("--record", metavar="FILE", help="write the processed output to FILE (.wav, .flac)")
    p.add_argument("--record-input", metavar="FILE", help="write the raw input to FILE")
    p.add_argument("--mix", type=float, default=0.0, metavar="0..1",
                   help="blend in the delay-aligned dry input (0 = processed only)")
    p.add_argument("--atten-lim", type=float, default=None, metavar="DB",
                   help="never attenuate more than DB decibels (keeps some of the original)")
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="stop after this long")
    p.add_argument("--stats-json", metavar="FILE", help="write latency, counters and compute times at exit")
    p.add_argument("--cpu-core", default="auto", metavar="CORE",
                   help="run the model worker and JAX's threads on one core: a number, none, or auto = the last "
                        "core when there are several and real-time priority is allowed (default: %(default)s)")
    p.add_argument("--inject-stall", type=_stall, default=None, help=argparse.SUPPRESS)  # test hook: AT,DUR
    p.set_defaults(handler=run)


def _stall(text: str) -> tuple[float, float]:
    at, duration = (float(v) for v in text.split(","))
    return at, duration


def _validate(args) -> None:
    from rtmusic.latency import check_budget_value

    check_budget_value(args.latency_budget)
    if args.duration is not None and args.duration <= 0:
        raise ParameterError(f"--duration must be positive, got {args.duration:g}")
    if args.blocksize < 0:
        raise ParameterError(f"--blocksize must be 0 (host decides) or a positive frame count, got {args.blocksize}")
    if not 0 <= args.safety_ms <= 100:
        raise ParameterError(f"--safety-ms must be between 0 and 100 ms, got {args.safety_ms:g}")
    if args.input_channel < 1:
        raise ParameterError(f"--input-channel counts from 1, got {args.input_channel}")
    from rtmusic.registry import parse_tasks

    args.tasks = parse_tasks(args.task)
    from rtmusic.engine.cores import resolve_core

    args.core = resolve_core(args.cpu_core)
    if args.labels_jsonl and "classify" not in args.tasks:
        raise ParameterError("--labels-jsonl needs --task classify (or denoise,classify)")


def _devices(args) -> tuple[int | None, int | None]:
    from rtmusic import devices

    table = devices.list_devices()
    devices.require_audio_devices(table)
    if args.pick:
        return devices.pick_device("input", devices=table), devices.pick_device("output", devices=table)
    return (devices.resolve_device(args.input, "input", devices=table),
            devices.resolve_device(args.output, "output", devices=table))


def _status_line(live) -> str:
    import numpy as np

    from rtmusic.engine import state as S

    def dbfs(x: float) -> str:
        return f"{20 * np.log10(max(x, 1e-6)):6.1f}"

    ctl = live.state.ctl
    pct = live.compute_percentiles()
    extra = ""
    names = live.processor.model.aux_names
    if "gain_db" in names:
        extra = f" | NR {live.worker.aux_latest[names.index('gain_db')]:6.1f} dB"
    return (f"in {dbfs(live.state.levels[0])} dBFS | out {dbfs(live.state.levels[1])} dBFS{extra} | "
            f"hop p50 {pct['p50']:5.0f} p99 {pct['p99']:5.0f} us | misses {int(ctl[S.DEADLINE_MISSES])} | "
            f"xruns {int(ctl[S.XRUNS])} | {live.elapsed():6.1f} s")


class _LabelDisplay:
    """The status area with label bars: redrawn in place (ANSI) on a terminal, periodic lines otherwise."""

    TOP = 5

    def __init__(self, monitor, tty: bool):
        self.monitor, self.tty = monitor, tty
        self.drawn = 0  # lines of the block currently on screen
        self.period = STATUS_PERIOD_S if tty else 1.0
        self._next_status_line = 0.0

    def draw(self, live) -> None:
        if self.tty:
            lines = [_status_line(live)] + self.monitor.bar_lines(self.TOP)
            up = f"\x1b[{self.drawn}F" if self.drawn else ""
            print(up + "".join(f"\x1b[2K{line}\n" for line in lines), end="", file=sys.stderr, flush=True)
            self.drawn = len(lines)
            return
        now = time.monotonic()
        if now >= self._next_status_line:
            self._next_status_line = now + 5.0
            print(_status_line(live), file=sys.stderr)
        print(self.monitor.summary_line(self.TOP), file=sys.stderr, flush=True)


def _label_monitor(args, processor, tty: bool):
    from rtmusic.labels import LabelMonitor, label_columns

    found = label_columns(processor.model)
    if found is None:
        return None, None
    names, columns = found
    monitor = LabelMonitor(names, columns, processor.hop, processor.samplerate, jsonl=args.labels_jsonl)
    return monitor, _LabelDisplay(monitor, tty)


def _write_stats(path, stats) -> None:
    if path:
        with open(path, "w") as f:
            json.dump(stats, f, indent=2)


def _summary(stats) -> str:
    c, t = stats["counters"], stats["compute_us"]
    return (f"stopped after {stats['duration_s']:.1f} s: xruns {c['xruns']}, deadline misses {c['deadline_misses']}, "
            f"non-finite resets {c['nonfinite_resets']}, hop compute p50 {t['p50']:.0f} us / p99 {t['p99']:.0f} us")


def run(args) -> int:
    from rtmusic.engine.cores import CorePlacement
    from rtmusic.engine.jaxenv import set_live_xla_flags
    from rtmusic.registry import model_samplerate, validate_knobs

    # A crash in native code (PortAudio, JACK, XLA) prints every thread's Python stack, so a report names the place.
    try:
        faulthandler.enable()
    except (OSError, ValueError, AttributeError):  # stderr is not a file (e.g. captured in-process): no dump
        pass
    # Every argument and device error is reported before JAX loads (that takes seconds).
    _validate(args)
    validate_knobs(args.atten_lim, args.mix)
    from rtmusic.registry import classifier_samplerate

    rates = ([model_samplerate(args.model)] if "denoise" in args.tasks else []) + (
        [classifier_samplerate(args.classifier)] if "classify" in args.tasks else [])
    if len(set(rates)) > 1:
        raise ParameterError(f"--model runs at {rates[0]} Hz but --classifier at {rates[1]} Hz; pick models of one rate")
    rate = rates[0]
    if args.samplerate is not None and args.samplerate != rate:
        from rtmusic.engine.rate_bridge import check_device_rate
        from rtmusic.registry import model_hop

        hop = model_hop(args.model) if "denoise" in args.tasks else model_hop(args.classifier, classifier=True)
        check_device_rate(args.samplerate, rate, hop)
    input_device, output_device = _devices(args)

    placement = CorePlacement(args.core).pin()  # before JAX loads: its threads start on the worker's core
    set_live_xla_flags()  # must precede the first JAX import
    from rtmusic.engine.live import LiveSettings, LiveStream
    from rtmusic.processor import Processor, enable_compilation_cache

    enable_compilation_cache()
    from rtmusic.processor import model_for_tasks

    processor = Processor(model_for_tasks(args.tasks, args.model, args.classifier), atten_lim_db=args.atten_lim,
                          mix=args.mix)
    settings = LiveSettings(
        input_device=input_device, output_device=output_device, samplerate=args.samplerate,
        blocksize=args.blocksize, input_channel=args.input_channel - 1, record=args.record,
        record_input=args.record_input, latency_budget_ms=args.latency_budget, stall=args.inject_stall,
        safety_margin_s=args.safety_ms / 1000.0, cpu_core=args.core,
    )
    print(f"rtmusic: compiling model {processor.model.name!r} ...", file=sys.stderr, flush=True)
    live = LiveStream(processor, settings)
    try:
        live.open()
        bridged = live.processor is not processor  # the device runs at another rate: the worker resamples
        print(f"rtmusic: {live.device_names[0]!r} -> {processor.model.name} -> {live.device_names[1]!r}, "
              f"{live.report.samplerate} Hz, hop {live.processor.hop}"
              + (f" (resampled to the model's {processor.samplerate} Hz)" if bridged else "")
              + ("" if args.core is None else f", model on core {args.core}"), file=sys.stderr)
        print(live.report.format(), file=sys.stderr, flush=True)
        live.check_budget()
    except BaseException:
        live.close()
        raise
    finally:
        placement.release()  # JAX's threads are started: the UI and the audio client's thread stay free
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    # "Ctrl-C to stop" must hold however we were started: a shell starts background jobs with SIGINT ignored,
    # and Python then leaves it ignored, so `kill -INT` would not stop the run.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    tty = sys.stderr.isatty()
    monitor, display = _label_monitor(args, live.processor, tty)
    exit_code = 0
    try:
        live.start()
        print("rtmusic: running" + ("" if args.duration is None else f" for {args.duration:g} s")
              + " (Ctrl-C to stop)", file=sys.stderr, flush=True)
        period = display.period if display else (STATUS_PERIOD_S if tty else 5.0)
        next_status = time.monotonic() + period
        while args.duration is None or live.elapsed() < args.duration:
            time.sleep(0.05)
            live.poll()
            if monitor is not None:
                monitor.update(live.worker)
            if time.monotonic() >= next_status:
                next_status += period
                if display is not None:
                    display.draw(live)
                else:
                    print(("\r" if tty else "") + _status_line(live), end="" if tty else "\n", file=sys.stderr,
                          flush=True)
    except KeyboardInterrupt:
        exit_code = 130
    except StreamAborted as exc:
        if monitor is not None:
            monitor.close()
        if live.abandoned:  # PortAudio may hang on stop/close/terminate: finish our files, then leave at once
            stats = live.stats()
            live.close()
            _write_stats(args.stats_json, stats)
            print(("\n" if tty else "") + f"rtmusic: error: {exc}", file=sys.stderr)
            print("rtmusic: " + _summary(stats) + (f"; recording saved to {args.record}" if args.record else ""),
                  file=sys.stderr, flush=True)
            sys.stdout.flush()
            os._exit(EXIT_ABORTED)
        live.close()
        raise
    live.close()
    stats = live.stats()  # after the worker stopped: counters and label rows agree
    stats["runtime_threads_realtime"] = placement.promoted  # JAX's threads on the worker's core and priority
    if monitor is not None:
        monitor.update(live.worker)  # the worker has stopped: every hop it ran is in the ring
        monitor.close()
        stats["labels"] = {"final_smoothed": dict(monitor.top(len(monitor.names))), "hops": monitor.rows_seen,
                           "jsonl_lines": monitor.lines_written}
    _write_stats(args.stats_json, stats)
    print(("\n" if tty and display is None else "") + "rtmusic: " + _summary(stats), file=sys.stderr, flush=True)
    return exit_code
