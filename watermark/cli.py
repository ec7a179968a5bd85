"""`leakguard watermark ...`"""

from __future__ import annotations

import argparse
import re
import sys

HEX16 = re.compile(r"^[0-9a-fA-F]{16}$")


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="watermark_command", metavar="ACTION", required=True)
    render = sub.add_parser(
        "render",
        help="write the invisible overlay for a W x H screen as an RGBA PNG",
        description="Write the invisible overlay that the agent shows for MARK on a W x H screen.",
    )
    render.add_argument("--mark", required=True, type=parse_mark, help="64-bit mark as 16 hex digits")
    render.add_argument("--width", type=positive_size, required=True)
    render.add_argument("--height", type=positive_size, required=True)
    render.add_argument("--out", required=True, help="output PNG path")
    render.set_defaults(handler=run_render)


def parse_mark(text: str) -> int:
    if not HEX16.match(text):
        raise argparse.ArgumentTypeError(f"a mark is exactly 16 hex digits, got {text!r}")
    return int(text, 16)


def positive_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 16384:
        raise argparse.ArgumentTypeError(f"a screen side is 1..16384 pixels, got {value}")
    return value


def run_render(args: argparse.Namespace) -> int:
    import cv2

    from watermark.overlay import render_overlay

    rgba = render_overlay(args.mark, args.width, args.height)
    ok, encoded = cv2.imencode(".png", rgba[:, :, [2, 1, 0, 3]])
    if not ok:
        print("leakguard: could not encode the overlay as PNG", file=sys.stderr)
        return 1
    try:
        with open(args.out, "wb") as out:
            out.write(encoded.tobytes())
    except OSError as exc:
        print(f"leakguard: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0
