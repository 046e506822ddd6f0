"""The push endpoint under starvation attempts (issue 14, item 5): bad chunk sizes, slowloris
heads, wrong-token floods, escape sequences in paths, 404 floods; and the bound that matters,
genuine pushes answered in under a second while those floods run."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pushserver import AUTH, TOKEN, push, raw_request, rows, start  # noqa: F401

CHUNKED_HEAD = (
    f"POST /v1/mentions HTTP/1.1\nHost: x\nAuthorization: Bearer {TOKEN}\n"
    "Content-Type: application/json\nTransfer-Encoding: chunked\n"
)
VALID_SIZE = re.compile(r"[0-9a-fA-F]{1,8}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.one_of(
    st.sampled_from(["-1", "-5", "+10", "0x10", "1_0", "", " ", "123456789", "-0x1"]),
    st.from_regex(r"[-+ _xX0-9a-fA-F]{1,12}", fullmatch=True),
))
def test_a_negative_or_malformed_chunk_size_is_400_at_once(start, size):
    if VALID_SIZE.fullmatch(size.strip()):
        return  # a real size (spaces around it are tolerated); covered by test_server.py
    if not start.servers:
        start(max_body_bytes=3000)
    url = start.servers[0].url
    began = time.monotonic()
    status, _, payload = raw_request(url, CHUNKED_HEAD, f"{size}\r\n".encode() + b"x" * 64, wait=8)
    assert status == 400 and "chunk" in json.loads(payload)["error"]
    assert time.monotonic() - began < 3  # not waiting for an end of stream that never comes


def test_a_slow_request_head_is_cut_at_a_total_deadline(start):
    url, _ = start(head_timeout=1.0)
    host, port = url.removeprefix("http://").rsplit(":", 1)
    head = f"POST /v1/mentions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n".encode()
    began = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.settimeout(0.3)
        reply = b""
        for byte in head * 4:  # one byte every 0.1 s: each read is quick, the head never ends
            if time.monotonic() - began > 4:
                break
            try:
                sock.sendall(bytes([byte]))
                reply += sock.recv(4096)
                if reply:
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
    assert time.monotonic() - began < 3, "the server kept reading a head that never ends"
    assert reply.startswith(b"HTTP/1.1 408")


def test_a_wrong_token_flood_does_not_rate_limit_the_genuine_sender(start):
    url, app = start(rate=0.01, burst=5)
    wrong = {"Authorization": "Bearer wrong-token-0123456789abcdef"}
    codes = [push(url, {"text": "flood"}, headers=wrong).status_code for _ in range(8)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    assert push(url, {"text": "genuine, same address"}).status_code == 202
    assert len(rows(app)) == 1


def test_404s_are_rate_limited(start):
    url, _ = start(rate=0.01, burst=3)
    codes = [requests.get(f"{url}/nope{i}", timeout=5).status_code for i in range(5)]
    assert codes == [404, 404, 404, 429, 429]
    assert requests.get(f"{url}/healthz", timeout=5).status_code == 200  # probes never are


def test_the_request_path_is_logged_escaped(start, caplog):
    caplog.set_level(logging.DEBUG)
    url, _ = start()
    status, _, _ = raw_request(url, "GET /\x1b]0;PWNED\x07\x1b[2J\x9b HTTP/1.1\nHost: x\n")
    assert status == 404
    assert "\x1b" not in caplog.text and "\x07" not in caplog.text and "\x9b" not in caplog.text
    assert "\\x1b]0;PWNED\\x07" in caplog.text


FLOOD = textwrap.dedent(
    """
    import socket, sys, threading, time
    host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    token = sys.argv[4].encode()
    end = time.monotonic() + seconds

    def slowloris():  # a header byte every 0.5 s, reconnecting whenever the server hangs up
        while time.monotonic() < end:
            try:
                with socket.create_connection((host, port), timeout=2) as sock:
                    for byte in b"POST /v1/mentions HTTP/1.1\\r\\nHost: x\\r\\nX-Pad: " + b"a" * 200:
                        if time.monotonic() >= end:
                            return
                        sock.sendall(bytes([byte]))
                        time.sleep(0.5)
            except OSError:
                time.sleep(0.05)

    def wrong_token():  # about 60 requests a second from this one address, all refused
        body = b'{"text": "flood"}'
        request = (b"POST /v1/mentions HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer " + token
                   + b"\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n%s"
                   % (len(body), body))
        while time.monotonic() < end:
            try:
                with socket.create_connection((host, port), timeout=2) as sock:
                    sock.sendall(request)
                    while sock.recv(4096):
                        pass
            except OSError:
                pass
            time.sleep(1 / 30)

    threads = [threading.Thread(target=slowloris) for _ in range(70)]
    threads += [threading.Thread(target=wrong_token) for _ in range(2)]
    for t in threads:
        t.start()
    print("flooding", flush=True)
    for t in threads:
        t.join()
    """
)


@pytest.mark.slow
def test_genuine_pushes_stay_under_a_second_during_slowloris_and_wrong_token_floods(start):
    """70 slowloris connections plus a wrong-token flood from another process, with the
    production limits (10/s, burst 60, 64 handler slots); a genuine sender pushes meanwhile."""
    seconds = 4.0 if os.environ.get("CI") == "true" else 10.0
    url, app = start(rate=10.0, burst=60, max_connections=64)
    host, port = url.removeprefix("http://").rsplit(":", 1)
    flood = subprocess.Popen(
        [sys.executable, "-c", FLOOD, host, port, str(seconds + 2), "wrong-token-0123456789abcdef"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert flood.stdout.readline().strip() == "flooding"
        time.sleep(1.5)  # let the slowloris connections pile up first
        latencies, codes = [], []
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            began = time.monotonic()
            try:
                codes.append(push(url, {"id": f"g{i}", "text": f"genuine {i}"}).status_code)
            except requests.RequestException as exc:
                codes.append(type(exc).__name__)
            latencies.append(time.monotonic() - began)
            i += 1
            time.sleep(0.2)
    finally:
        flood.wait(timeout=60)
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"genuine pushes: {len(codes)}, p50 {latencies[len(latencies) // 2]:.3f}s, "
          f"p95 {p95:.3f}s, max {latencies[-1]:.3f}s")
    assert set(codes) == {202}, codes
    assert p95 < 1.0
    assert len(rows(app)) == len(codes)
