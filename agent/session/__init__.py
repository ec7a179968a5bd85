"""The per-user session part of the agent: it needs the user's display and session bus.

`python -m agent.session --state-dir DIR` watches the clipboard and shows notices;
`python -m agent.session.overlay --state-dir DIR` draws the watermark overlay. The service's
supervisor starts both and restarts them. Nothing here is imported by the service itself.
"""
