"""A Web Push service stub for the notification tests: HTTPS on loopback with a self-signed certificate made
here, which checks each request's VAPID signature (py_vapid) and decrypts its aes128gcm payload (http_ece) with
the subscriber's private key, as a browser's push service and the browser would. Host names of real push
services are pointed at it by the caller (:func:`resolve_to_loopback`)."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import http_ece
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from py_vapid import Vapid02


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscriber:
    """A browser's side of one push subscription: its ECDH key pair and auth secret."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` gives the page."""
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64u(point), "auth": b64u(self.auth)}}


@dataclass
class PushService:
    """Answers per path: ``status`` maps a path to a list of HTTP statuses consumed in order (then 201)."""

    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    status: dict[str, list[int]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        """Record one push message (``headers`` with lower-case names); the status to answer."""
        with self.lock:
            queue = self.status.get(path) or []
            status = queue.pop(0) if queue else 201
        auth = headers.get("authorization", "")
        token, _, key = auth.partition(" t=")[2].partition(",k=")
        claims = json.loads(b64u_decode(token.split(".")[1])) if token.count(".") == 2 else {}
        entry: dict[str, Any] = {
            "path": path,
            "status": status,
            "vapid_valid": bool(auth) and Vapid02.verify(auth),
            "vapid_key": key,
            "claims": claims,
            "headers": headers,
        }
        subscriber = self.subscribers.get(path)
        if subscriber is not None and headers.get("content-encoding") == "aes128gcm":
            plain = http_ece.decrypt(body, private_key=subscriber.key, auth_secret=subscriber.auth, version="aes128gcm")
            entry["payload"] = json.loads(plain)
        with self.lock:
            self.received.append(entry)
        return status


def _certificate(directory: Path, names: list[str]) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "push stub")])
    now = datetime.datetime.now(datetime.UTC)
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "push-stub.pem", directory / "push-stub.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def start_push_service(service: PushService, directory: Path, names: list[str]) -> tuple[ThreadingHTTPServer, Path]:
    """The stub on 127.0.0.1 (HTTPS for ``names``); returns the server and its CA file for requests."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = service.handle(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    cert, key = _certificate(directory, names)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, cert


def resolve_to_loopback(monkeypatch: pytest.MonkeyPatch, names: list[str], port: int) -> None:
    """Point the push services' host names at the stub (this process only); other names resolve as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, p: Any, *args: Any, **kwargs: Any) -> Any:
        if host in names:
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, p, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
