"""The requests that stage and commit a large file's blocks on Azure (storage/azure_blocks.py), against a real HTTP
server on loopback that answers as a busy or a refusing Blob service would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hygge.storage.azure_blocks import ATTEMPTS, _request
from hygge.storage.base import StorageError


class Service(ThreadingHTTPServer):
    """Answers each PUT with the next status of ``answers`` (the last one from then on), and counts them."""

    def __init__(self, answers: list[int]):
        self.answers = answers
        self.seen = 0
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(BaseHTTPRequestHandler):
    server: Service

    def do_PUT(self) -> None:  # the name http.server calls
        self.rfile.read(int(self.headers["Content-Length"]))
        status = self.server.answers[min(self.server.seen, len(self.server.answers) - 1)]
        self.server.seen += 1
        body = b"<Error><Code>Busy</Code></Error>" if status >= 400 else b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serving(answers: list[int]) -> Iterator[Service]:
    service = Service(answers)
    thread = threading.Thread(target=service.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.shutdown()
        service.server_close()


@pytest.fixture
def busy_then_ok() -> Iterator[Service]:
    yield from serving([503, 500, 201])


@pytest.fixture
def refusing() -> Iterator[Service]:
    yield from serving([403])


@pytest.fixture
def always_busy() -> Iterator[Service]:
    yield from serving([503])


def url(service: Service) -> str:
    return f"http://127.0.0.1:{service.server_address[1]}/container/key?comp=block&blockid=x"


def test_a_busy_service_is_asked_again_until_it_takes_the_block(busy_then_ok: Service) -> None:
    assert _request("PUT", url(busy_then_ok), b"data", {}, "az://container/key") == 201
    assert busy_then_ok.seen == 3


def test_a_refusal_is_not_asked_again_and_names_the_object(refusing: Service) -> None:
    with pytest.raises(StorageError) as raised:
        _request("PUT", url(refusing), b"data", {}, "az://container/key")
    assert refusing.seen == 1
    assert raised.value.path == "az://container/key" and "HTTP 403" in str(raised.value)
    assert not raised.value.transient


def test_a_service_busy_on_every_attempt_fails_with_the_last_answer(always_busy: Service) -> None:
    with pytest.raises(StorageError) as raised:
        _request("PUT", url(always_busy), b"data", {}, "az://container/key")
    assert always_busy.seen == ATTEMPTS
    assert "HTTP 503" in str(raised.value) and raised.value.transient


def test_a_conflict_the_caller_expects_is_returned_not_raised(refusing: Service) -> None:
    assert _request("PUT", url(refusing), b"data", {}, "az://container/key", conflicts=(403,)) == 403
