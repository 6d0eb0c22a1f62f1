"""The Prometheus server's web side: HTTP API v1, federation, the remote-write receiver and the pages.

``create_app(server)`` builds the aiohttp application that ``stack.prometheus`` serves; everything
else here is internal. Value formatting lives in :mod:`stack.web.codec` so the API, federation and
tests share one definition of how a number is written.
"""

from stack.web.app import create_app

__all__ = ["create_app"]
