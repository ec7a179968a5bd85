"""The agent's channels: where data can leave the PC, each judged with `rules/` and reported."""
