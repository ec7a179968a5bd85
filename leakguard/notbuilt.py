"""A uniform answer for subcommands whose part is not built yet."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

NOT_BUILT_EXIT = 3


def not_built(what: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        print(f"leakguard: {what} is not built yet (see README, 'Status').", file=sys.stderr)
        return NOT_BUILT_EXIT

    return handler
