"""Remote write forwards every committed sample, in order, and loses nothing while a receiver is down."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from stack.clock import WallClock
from stack.config.prometheus import parse_config_text
from stack.model import Labels
from stack.remote import QueueConfig, QueueManager, WriteStorage
from stack.remote.proto import decode_write_request, decompress
from stack.tsdb import Head
from tests.support import free_port

FAST = QueueConfig(batch_send_deadline_ms=3_600_000, min_backoff_ms=5, max_backoff_ms=40)


class Receiver:
    """A real HTTP remote-write endpoint that records what it receives; ``status`` is its answer."""

    def __init__(self, port: int, status: int = 204):
        self.port, self.status = port, status
        self.requests: list[tuple[dict, list]] = []
        self.runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/write"

    async def start(self) -> None:
        async def write(request: web.Request) -> web.Response:
            body = decode_write_request(decompress(await request.read()))
            self.requests.append((dict(request.headers), body))
            return web.Response(status=self.status)

        app = web.Application()
        app.router.add_post("/api/v1/write", write)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def samples(self) -> dict[Labels, list[tuple[int, float]]]:
        out: dict[Labels, list] = {}
        for _, body in self.requests:
            for labels, samples in body:
                out.setdefault(labels, []).extend(samples)
        return out


@pytest.fixture
async def receiver():
    r = Receiver(free_port())
    await r.start()
    yield r
    await r.stop()


def _append(head: Head, labels: dict, start_ms: int, n: int, step_ms: int = 1000) -> None:
    app = head.appender()
    for i in range(n):
        app.append(Labels(labels), start_ms + i * step_ms, float(i))
    app.commit()


async def test_committed_samples_arrive_in_order_with_remote_write_headers(receiver):
    head, clock = Head(), WallClock()
    qm = QueueManager(head, receiver.url, clock=clock, queue=FAST)
    await qm.start()
    now = clock.now_ms()
    _append(head, {"__name__": "a", "job": "x"}, now, 5)
    _append(head, {"__name__": "b", "job": "x"}, now, 3)
    assert await qm.flush() == 8
    await qm.stop()
    headers, _ = receiver.requests[0]
    assert headers["Content-Encoding"] == "snappy"
    assert headers["Content-Type"] == "application/x-protobuf"
    assert headers["X-Prometheus-Remote-Write-Version"] == "0.1.0"
    got = receiver.samples()
    assert got[Labels({"__name__": "a", "job": "x"})] == [(now + i * 1000, float(i)) for i in range(5)]
    assert len(got[Labels({"__name__": "b", "job": "x"})]) == 3


async def test_samples_are_sent_once_and_only_those_committed_after_start(receiver):
    head, clock = Head(), WallClock()
    now = clock.now_ms()
    _append(head, {"__name__": "old"}, now - 60_000, 3)
    qm = QueueManager(head, receiver.url, clock=clock, queue=FAST)
    await qm.start()
    _append(head, {"__name__": "new"}, clock.now_ms(), 2)
    await qm.flush()
    _append(head, {"__name__": "new"}, clock.now_ms() + 10_000, 1)
    await qm.flush()
    await qm.stop()
    got = receiver.samples()
    assert set(got) == {Labels({"__name__": "new"})}
    assert len(got[Labels({"__name__": "new"})]) == 3


async def test_nothing_is_lost_while_the_receiver_is_down():
    head, clock = Head(), WallClock()
    port = free_port()
    qm = QueueManager(head, f"http://127.0.0.1:{port}/api/v1/write", clock=clock, queue=FAST)
    await qm.start()
    now = clock.now_ms()
    _append(head, {"__name__": "a"}, now, 50)
    sending = asyncio.create_task(qm.flush())
    while qm.retries < 3:  # the receiver is down: the queue backs off and retries
        await asyncio.sleep(0.01)
    _append(head, {"__name__": "a"}, now + 50_000, 10)  # more data keeps arriving meanwhile
    receiver = Receiver(port)
    await receiver.start()
    try:
        await asyncio.wait_for(sending, 30)
        await qm.flush()
        await qm.stop()
    finally:
        await receiver.stop()
    expected = [(now + i * 1000, float(i % 50)) for i in range(60)]
    assert receiver.samples()[Labels({"__name__": "a"})] == expected
    assert "ClientConnectorError" in qm.last_error or qm.last_error == ""


async def test_a_reading_pass_is_bounded_by_capacity_and_requests_by_max_samples_per_send(receiver):
    head, clock = Head(), WallClock()
    cfg = QueueConfig(capacity=7, max_samples_per_send=3, batch_send_deadline_ms=3_600_000)
    qm = QueueManager(head, receiver.url, clock=clock, queue=cfg)
    await qm.start()
    now = clock.now_ms()
    for name in ("a", "b"):
        _append(head, {"__name__": name}, now, 10)
    assert await qm.flush() == 20
    await qm.stop()
    sizes = [sum(len(s) for _, s in body) for _, body in receiver.requests]
    assert max(sizes) <= 3 and sum(sizes) == 20
    assert receiver.samples()[Labels({"__name__": "b"})] == [(now + i * 1000, float(i)) for i in range(10)]


async def test_a_4xx_answer_drops_the_batch_and_later_samples_still_flow(receiver):
    head, clock = Head(), WallClock()
    qm = QueueManager(head, receiver.url, clock=clock, queue=FAST)
    await qm.start()
    now = clock.now_ms()
    receiver.status = 400
    _append(head, {"__name__": "a"}, now, 2)
    assert await qm.flush() == 0
    assert qm.samples_failed == 2 and "HTTP status 400" in qm.last_error
    receiver.status = 204
    _append(head, {"__name__": "a"}, now + 5000, 1)
    assert await qm.flush() == 1
    await qm.stop()


async def test_write_storage_follows_the_config_with_external_labels_and_write_relabeling(receiver):
    head, clock = Head(), WallClock()
    config = parse_config_text(f"""
global:
  external_labels: {{site: lab}}
remote_write:
  - url: {receiver.url}
    queue_config: {{batch_send_deadline: 1h, min_backoff: 5ms}}
    write_relabel_configs:
      - source_labels: [__name__]
        regex: secret_.*
        action: drop
""")
    storage = WriteStorage(head, clock)
    await storage.start(config)
    now = clock.now_ms()
    _append(head, {"__name__": "public", "job": "x"}, now, 2)
    _append(head, {"__name__": "secret_token", "job": "x"}, now, 2)
    assert await storage.flush() == 2
    await storage.apply_config(parse_config_text("global: {}\n"))
    assert storage.queues == []
    await storage.stop()
    assert set(receiver.samples()) == {Labels({"__name__": "public", "job": "x", "site": "lab"})}
