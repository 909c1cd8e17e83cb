"""Where a webhook may be sent, and sending it: the SSRF guard and a bounded HTTP POST.

A tenant chooses the URL, the server makes the request: without a guard a tenant could make
the server call into its own network (``http://169.254.169.254/`` cloud metadata, an internal
admin port, the database). So, unless ``WEBHOOKS_ALLOW_PRIVATE_NETWORKS`` is on (tests and
development):

* the host is resolved once and **every** address it resolves to must be public: loopback,
  private (RFC 1918, unique-local), link-local, shared (CGNAT), multicast, reserved, unspecified
  and documentation ranges are refused (``ipaddress``' ``is_global``, plus multicast; an IPv6
  address that embeds an IPv4 one is judged by that);
* the connection goes to the address that was checked (``_PinnedConnection``), never through a
  second look-up, so DNS cannot answer "public" to the check and "private" to the connect
  (rebinding); TLS still verifies the certificate against the URL's host name (SNI, hostname);
* redirects are not followed (a 3xx is a failed attempt: a redirect could point anywhere);
* the whole attempt (connect, TLS, send, answer) has one deadline, and at most
  ``MAX_RESPONSE_BYTES`` of the answer are read.

``WEBHOOKS_REQUIRE_HTTPS`` (forced on by production settings) refuses ``http`` URLs at
registration and at delivery. Plain stdlib (``http.client``, ``ssl``, ``socket``): pinning the
address needs only the connection's ``connect``; the libraries made for this are unmaintained
(advocate, 2020) or new and unproven.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from common import limits

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "Reconcile-Webhooks/1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DeliveryRefused(Exception):
    """The URL may not be called (scheme, host, or an address it resolves to); said in words."""


def address_refusal(address: IPAddress) -> str | None:
    """Why a request must not go to ``address`` (None when it may): the range it belongs to."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return address_refusal(embedded)
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "an address that is not publicly routable"
    return None


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook endpoint (None when it can), without any network look-up.

    Checked at registration and again before every attempt: scheme (https only when
    ``WEBHOOKS_REQUIRE_HTTPS``), a host, no credentials in the URL (lists would show them), no
    fragment, and, unless private networks are allowed, no private address or ``localhost``
    written in the URL itself (names are resolved and checked at delivery).
    """
    problem = limits.text_problem(url, limits.WEBHOOK_URL)
    if problem is not None:
        return problem
    if any(ord(character) <= 32 or ord(character) == 127 for character in url):
        return "The URL may not contain spaces or control characters."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Enter a valid URL."
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return "The URL must start with https:// (or http:// where allowed)."
    if scheme == "http" and settings.WEBHOOKS_REQUIRE_HTTPS:
        return "The URL must use https."
    host = parts.hostname
    if not host:
        return "The URL has no host."
    if parts.username is not None or parts.password is not None:
        return "The URL may not contain a user name or password: authenticate with the signature."
    if parts.fragment:
        return "The URL may not contain a fragment (#...)."
    if port == 0:
        return "The URL's port must be between 1 and 65535."
    if not settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS:
        if host == "localhost" or host.endswith(".localhost"):
            return "The URL's host is this server (localhost)."
        address = _literal_address(host)
        if address is not None and (refusal := address_refusal(address)) is not None:
            return f"The URL's host is {refusal}."
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses to connect to, all of them allowed; DeliveryRefused otherwise."""
    literal = _literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as error:
            raise DeliveryRefused(f"The host {host!r} could not be resolved.") from error
        addresses = []
        for _family, _type, _proto, _name, sockaddr in found:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
    if not addresses:
        raise DeliveryRefused(f"The host {host!r} has no address.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS:
        for address in addresses:
            refusal = address_refusal(address)
            if refusal is not None:
                raise DeliveryRefused(f"The host {host!r} resolves to {refusal} ({address}): refused.")
    return addresses


class _PinnedConnection(http.client.HTTPSConnection):
    """An HTTP(S) connection to the URL's host name that connects to one checked address."""

    def __init__(self, host: str, port: int, address: IPAddress, *, tls: bool, timeout: float) -> None:
        context = ssl.create_default_context() if tls else None
        super().__init__(host, port, timeout=timeout, context=context)
        self.default_port = 443 if tls else 80  # the Host header names the port only when not this
        self.address = address
        self.tls = tls

    def connect(self) -> None:
        sock = socket.create_connection((str(self.address), self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            # Certificate and host name are verified against the URL's host, not the address.
            sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
        self.sock = sock


@dataclass(frozen=True)
class HttpOutcome:
    """What one attempt got: a status (None without an answer), the time, an error in words."""

    status: int | None
    latency_ms: int
    error: str = ""
    excerpt: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _excerpt(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    return text[: limits.WEBHOOK_RESPONSE_EXCERPT]


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> HttpOutcome:
    """POST ``body`` to ``url`` once, under the guard of the module docstring.

    Never raises for what the network or the receiver does: every failure is an outcome with
    its error in words (refused address, timeout, TLS, connection reset, redirect).
    """
    started = time.monotonic()

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        problem = url_problem(url)
        if problem is not None:
            raise DeliveryRefused(problem)
        parts = urlsplit(url)
        host = parts.hostname or ""
        tls = parts.scheme.lower() == "https"
        port = parts.port or (443 if tls else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        addresses = resolve(host, port)
    except DeliveryRefused as refused:
        return HttpOutcome(status=None, latency_ms=elapsed_ms(), error=str(refused)[: limits.WEBHOOK_ERROR])

    deadline = started + timeout
    error = ""
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        connection = _PinnedConnection(host, port, address, tls=tls, timeout=remaining)
        # One deadline for the whole attempt: a receiver that answers a byte at a time is cut
        # off when it passes (shutting the socket down wakes up the blocked read).
        watchdog = threading.Timer(remaining, _shut_down, [connection])
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request("POST", target, body=body, headers={**headers, "User-Agent": USER_AGENT})
            response = connection.getresponse()
            answer = response.read(MAX_RESPONSE_BYTES)
            status = response.status
            outcome_error = ""
            if 300 <= status < 400:
                outcome_error = f"Redirect to {response.getheader('Location', '?')!s:.200} not followed."
            elif not 200 <= status < 300:
                outcome_error = f"The receiver answered {status}."
            return HttpOutcome(
                status=status,
                latency_ms=elapsed_ms(),
                error=outcome_error[: limits.WEBHOOK_ERROR],
                excerpt=_excerpt(answer),
            )
        except (OSError, http.client.HTTPException, ValueError) as failure:
            error = _describe(failure, timed_out=time.monotonic() >= deadline)
        finally:
            watchdog.cancel()
            connection.close()
    return HttpOutcome(
        status=None, latency_ms=elapsed_ms(), error=(error or "Timed out.")[: limits.WEBHOOK_ERROR]
    )


def _shut_down(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _describe(failure: BaseException, *, timed_out: bool) -> str:
    if timed_out or isinstance(failure, TimeoutError | socket.timeout):
        return "Timed out."
    if isinstance(failure, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {failure.verify_message or failure}."
    if isinstance(failure, ssl.SSLError):
        return f"TLS failed: {failure.reason or failure}."
    if isinstance(failure, ConnectionRefusedError):
        return "Connection refused."
    if isinstance(failure, ConnectionError):
        return "Connection lost."
    return f"{type(failure).__name__}: {failure}"
