"""How a scrape reaches a target: real HTTP, or a direct call into an in-process service.

The scrape loop is the same code in a live demo and in a notebook simulation; the *transport* is
one of the two seams (the clock is the other). :class:`HttpTransport` performs the GET upstream's
scraper performs (gzip, timeout, a body size limit enforced while reading, so a runaway exporter
cannot fill memory). :class:`InProcessTransport` calls handler functions registered by
``host:port``, so a simulation on a virtual clock scrapes toy services without sockets, and a host
nobody registered fails like a closed port does.

Transports never raise for a target's fault: they return a :class:`ScrapeResponse` whose ``error``
says what went wrong in upstream's words, and the scrape loop turns that into ``up 0``.
"""

from __future__ import annotations

import http
import inspect
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

# Upstream scrape.errBodySizeLimit.
ERR_BODY_SIZE_LIMIT = "body size limit exceeded"
ERR_DEADLINE = "context deadline exceeded"
_READ_CHUNK = 64 * 1024


@dataclass
class ScrapeResponse:
    status: int
    content_type: str
    body: bytes
    error: str | None = None


class Transport:
    """Fetches one scrape URL. Implementations return errors in the response, never raise them."""

    async def fetch(
        self, url: str, headers: dict[str, str], timeout: float, body_size_limit: int
    ) -> ScrapeResponse:
        raise NotImplementedError

    async def close(self) -> None:
        """Release connections (called when the scrape manager stops)."""


def status_error(status: int, reason: str = "") -> str:
    """Upstream's wording, e.g. ``server returned HTTP status 500 Internal Server Error``."""
    if not reason:
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    return f"server returned HTTP status {status} {reason}".rstrip()


def refused_error(url: str) -> str:
    """The wording of Go's net/http for a closed port, which people search the web for."""
    host = urlsplit(url).netloc
    return f'Get "{url}": dial tcp {host}: connect: connection refused'


class HttpTransport(Transport):
    """Scrapes over HTTP with one shared aiohttp session (connection reuse across scrapes)."""

    def __init__(self, ssl_context: ssl.SSLContext | bool | None = None, follow_redirects: bool = True):
        self._session: aiohttp.ClientSession | None = None
        self._ssl = ssl_context
        self._follow_redirects = follow_redirects

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # auto_decompress: gzip bodies are inflated while reading, so the size limit applies to
            # the uncompressed body, as upstream's does.
            self._session = aiohttp.ClientSession(auto_decompress=True, cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def fetch(
        self, url: str, headers: dict[str, str], timeout: float, body_size_limit: int
    ) -> ScrapeResponse:
        session = self._get_session()
        try:
            async with session.get(
                url,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
                ssl=self._ssl,
                allow_redirects=self._follow_redirects,
            ) as resp:
                content_type = resp.headers.get("Content-Type", "")
                if resp.status != 200:
                    return ScrapeResponse(
                        resp.status, content_type, b"", status_error(resp.status, resp.reason or "")
                    )
                chunks, size = [], 0
                async for chunk in resp.content.iter_chunked(_READ_CHUNK):
                    size += len(chunk)
                    if body_size_limit > 0 and size >= body_size_limit:
                        return ScrapeResponse(resp.status, content_type, b"", ERR_BODY_SIZE_LIMIT)
                    chunks.append(chunk)
                return ScrapeResponse(resp.status, content_type, b"".join(chunks))
        except TimeoutError:
            return ScrapeResponse(0, "", b"", ERR_DEADLINE)
        except aiohttp.ClientConnectorError:
            return ScrapeResponse(0, "", b"", refused_error(url))
        except (aiohttp.ClientError, ValueError, OSError) as e:
            return ScrapeResponse(0, "", b"", f'Get "{url}": {e or type(e).__name__}')

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


Handler = Callable[[str, dict], "ScrapeResponse | Awaitable[ScrapeResponse]"]


class InProcessTransport(Transport):
    """Calls ``handlers["host:port"](path_with_query, headers)`` instead of opening a socket.

    Handlers may be plain functions or coroutines; they return a :class:`ScrapeResponse`. The body
    size limit is applied here too, so limits behave the same in simulations.
    """

    def __init__(self, handlers: dict[str, Handler] | None = None):
        self.handlers: dict[str, Handler] = dict(handlers or {})

    async def fetch(
        self, url: str, headers: dict[str, str], timeout: float, body_size_limit: int
    ) -> ScrapeResponse:
        parts = urlsplit(url)
        handler = self.handlers.get(parts.netloc)
        if handler is None:
            return ScrapeResponse(0, "", b"", refused_error(url))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        result = handler(path, dict(headers))
        if inspect.isawaitable(result):
            result = await result
        if result.error is None and result.status != 200:
            return ScrapeResponse(result.status, result.content_type, b"", status_error(result.status, ""))
        if body_size_limit > 0 and len(result.body) >= body_size_limit:
            return ScrapeResponse(result.status, result.content_type, b"", ERR_BODY_SIZE_LIMIT)
        return result
