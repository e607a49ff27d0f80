"""`rtmusic devices [--json]`: list audio devices (> default input, < default output, * both).

Loads PortAudio only: no JAX, so it answers at once even when the model stack is slow to import.
"""

from __future__ import annotations

import argparse
import dataclasses
import json


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "devices",
        help="list audio devices",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--json", action="store_true", help="print the list as JSON (one object per device)")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from rtmusic.devices import format_device_table, list_devices

    devices = list_devices()
    if args.json:
        print(json.dumps([dataclasses.asdict(d) for d in devices], indent=2))
    else:
        print(format_device_table(devices))
    return 0
