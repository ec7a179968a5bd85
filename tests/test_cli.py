"""The `leakguard` command lists its subcommands and each one explains itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

from leakguard.cli import SUBCOMMANDS

EXPECTED = {"watermark", "trace", "rules", "console", "agent", "demo"}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leakguard.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_every_subcommand() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for name, _module, help_text in SUBCOMMANDS:
        assert name in result.stdout
        assert help_text.split()[0] in result.stdout
    assert {name for name, _, _ in SUBCOMMANDS} == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_subcommand_says_what_it_does(name: str) -> None:
    result = run_cli(name, "--help")
    assert result.returncode == 0, result.stderr
    help_text = dict((n, h) for n, _, h in SUBCOMMANDS)[name]
    assert help_text in " ".join(result.stdout.split())


def test_missing_subcommand_is_a_usage_error() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "COMMAND" in result.stderr
