"""Test-wide fixtures: real X display, real console servers, real browser."""

pytest_plugins = [
    "tests.fixtures.display",
    "tests.fixtures.consoles",
    "tests.fixtures.browser",
]
