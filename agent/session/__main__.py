"""Entry point: `python -m agent.session --state-dir DIR`."""

import sys

from agent.session.main import main

sys.exit(main())
