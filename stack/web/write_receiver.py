"""POST /api/v1/write: accept remote-write 1.0 requests into our TSDB.

Only with ``--web.enable-remote-write-receiver`` (as upstream): a receiver lets anyone who can
reach the port write arbitrary series. A request is appended as one batch and committed at once,
so a malformed body changes nothing. Samples the TSDB refuses (out of order, duplicates) make the
answer 400, which tells the sender not to retry them, as upstream does.
"""

from __future__ import annotations

from aiohttp import web

from stack.remote.proto import DecodeError, decode_write_request, decompress


async def remote_write_handler(request: web.Request) -> web.Response:
    from stack.web.api import flag
    from stack.web.app import REMOTE_WRITE_DISABLED, SERVER_KEY

    server = request.app[SERVER_KEY]
    if not flag(server, "web.enable-remote-write-receiver"):
        return web.Response(status=404, text=REMOTE_WRITE_DISABLED + "\n")
    body = await request.read()
    try:
        series = decode_write_request(decompress(body))
    except DecodeError as e:
        return web.Response(status=400, text=f"{e}\n")
    app = server.tsdb.appender()
    for labels, samples in series:
        if not labels.name:
            app.rollback()
            return web.Response(status=400, text=f"series {labels} has no metric name\n")
        for t, v in samples:
            app.append(labels, t, v)
    app.commit()
    errors = getattr(app, "errors", None)
    if errors and sum(errors.values()):
        detail = ", ".join(f"{n} {msg}" for msg, n in sorted(errors.items()) if n)
        return web.Response(status=400, text=f"some samples were rejected: {detail}\n")
    return web.Response(status=204)
