"""The web page's session API: `python -m agent web`."""

from .app import create_app
from .settings import WebSettings

__all__ = ["WebSettings", "create_app"]
