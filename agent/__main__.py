"""`python -m agent`: the LiveKit Agents CLI (dev, start, console, connect,
download-files), the web page's server (`web`) and the developer helpers
`dispatch`, `token` and `schema`."""

import os
import sys
import tempfile

# Job processes report metrics through files that the worker's /metrics endpoint sums;
# prometheus_client picks that mode when it is first imported, so this comes before any import
# of livekit (the devtools below import it too).
if os.environ.get("STREAMING_AVATAR_METRICS_PORT") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="streaming-avatar-metrics-")

from .devtools import DEVTOOL_COMMANDS, run_devtool

if len(sys.argv) > 1 and sys.argv[1] in DEVTOOL_COMMANDS:
    sys.exit(run_devtool(sys.argv[1:]))
if len(sys.argv) > 1 and sys.argv[1] == "web":
    from .web.server import run_web

    sys.exit(run_web(sys.argv[2:]))

from livekit.agents import cli

from .app import server

cli.run_app(server)
