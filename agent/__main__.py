"""`python -m agent`: the LiveKit Agents CLI (dev, start, console, connect,
download-files) plus the developer helpers `dispatch`, `token` and `schema`."""

import os
import sys
import tempfile

from .devtools import DEVTOOL_COMMANDS, run_devtool

if len(sys.argv) > 1 and sys.argv[1] in DEVTOOL_COMMANDS:
    sys.exit(run_devtool(sys.argv[1:]))

# Job processes report metrics through files that the worker's /metrics endpoint sums;
# prometheus_client picks that mode at import, so the directory must be set first.
if os.environ.get("STREAMING_AVATAR_METRICS_PORT") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="streaming-avatar-metrics-")

from livekit.agents import cli  # noqa: E402

from .app import server  # noqa: E402

cli.run_app(server)
