"""`leakguard demo`: a console, an enrolled agent and its overlay on this machine, and a traced leak.

The demo keeps everything in one folder (default `.demo/`): the console's SQLite database and the
master key that seals its private keys, the admin password, the agent's state and the screenshots it takes. It draws on the user's display when
one answers, else on a virtual display (Xvfb + xcompmgr) that it starts itself, and then walks
through the loop a customer buys: the overlay is on screen, a screenshot leaks as a JPEG, and
`leakguard trace` names the user, host and time.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

from leakguard.demo_steps import DemoRun

DEMO_PORT = 8765


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", default=".demo", help="folder for the demo's database, agent state and images")
    parser.add_argument("--port", type=int, default=DEMO_PORT, help="console port on 127.0.0.1")
    parser.add_argument("--virtual", action="store_true", help="use a virtual display even if one is set")
    parser.add_argument("--once", action="store_true", help="run the leak-and-trace loop, then stop")
    parser.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    demo = DemoRun(pathlib.Path(args.dir).resolve(), args.port)
    try:
        demo.start_console()
        demo.enroll_agent()
        demo.start_display(use_current=not args.virtual and bool(os.environ.get("DISPLAY")))
        demo.start_agent()
        demo.show_document()
        result = demo.leak_and_trace()
        print(demo.summary(result))
        if not args.once:
            print("Press Ctrl-C to stop the demo.")
            demo.wait()
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        print(f"leakguard demo: {exc}", file=sys.stderr)
        return 1
    finally:
        demo.stop()
    return 0
