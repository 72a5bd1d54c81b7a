"""`python -m agent`: the LiveKit Agents CLI (dev, start, console, connect,
download-files) plus the developer helpers `dispatch`, `token` and `schema`."""

import sys

from .devtools import DEVTOOL_COMMANDS, run_devtool

if len(sys.argv) > 1 and sys.argv[1] in DEVTOOL_COMMANDS:
    sys.exit(run_devtool(sys.argv[1:]))

from livekit.agents import cli  # noqa: E402

from .app import server  # noqa: E402

cli.run_app(server)
