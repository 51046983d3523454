# SPDX-License-Identifier: Apache-2.0
"""A raw TLS client for what curl cannot do: a chosen SNI name apart from
the Host header, session resumption across virtual hosts, HTTP/1.1
pipelining (several requests written before any response is read), a
kept-alive connection the test acts between requests on (or in the middle
of a request), and a client that changes its certificate between two
handshakes of one connection (a TLS 1.2 renegotiation or a TLS 1.3
post-handshake authentication that the server asks for)."""

import os
import socket
import ssl


def context(pki, phone=None, version=ssl.TLSVersion.TLSv1_3, chain=None,
            pha=False):
    """A client context trusting the test server CA.  Host names are not
    checked: the attacker picks SNI names the server certificate may not
    carry.  chain: another file of the phone's certificates to send (its
    ``.full.pem``, root included); pha: offer TLS 1.3 post-handshake
    authentication (a per-directory SSLVerifyClient asks for it)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = version
    ctx.post_handshake_auth = pha
    ctx.check_hostname = False
    ctx.load_verify_locations(os.path.join(pki, "server-ca.crt"))
    if phone:
        ctx.load_cert_chain(os.path.join(pki, chain or phone + ".chain.pem"),
                            os.path.join(pki, phone + ".key"))
    return ctx


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def __repr__(self):
        return "<Response %s %r>" % (self.status, self.body[:80])


def parse_responses(data):
    """Split a byte stream into HTTP/1.1 responses (Content-Length bodies,
    or the rest of the stream)."""
    out = []
    while data.startswith(b"HTTP/"):
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", len(rest)))
        out.append(Response(status, headers,
                            rest[:n].decode("utf-8", "replace")))
        data = rest[n:]
    return out


class Exchange:
    """What one connection got: the responses, the TLS session and whether
    it was resumed; ``error`` when the handshake failed."""

    def __init__(self):
        self.responses, self.session, self.reused = [], None, False
        self.error = None

    @property
    def statuses(self):
        return [r.status for r in self.responses]

    def __repr__(self):
        return "<Exchange %s reused=%s error=%s>" % (
            self.statuses, self.reused, self.error)


def exchange(ctx, port, paths, sni="localhost", host=None, session=None,
             method="GET", timeout=10):
    """Write a request for each path at once (pipelined, the last one with
    Connection: close), then read every response."""
    ex = Exchange()
    host = host or sni
    reqs = []
    for i, p in enumerate(paths):
        last = i == len(paths) - 1
        reqs.append("%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (
            method, p, host, "Connection: close\r\n" if last else ""))
    try:
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=timeout) as s:
            with ctx.wrap_socket(s, server_hostname=sni,
                                 session=session) as ss:
                ss.sendall("".join(reqs).encode())
                data = b""
                while True:
                    try:
                        chunk = ss.recv(65536)
                    except (ssl.SSLError, ConnectionError) as e:
                        if not data:
                            ex.error = e
                        break
                    if not chunk:
                        break
                    data += chunk
                ex.responses = parse_responses(data)
                ex.session, ex.reused = ss.session, ss.session_reused
    except (ssl.SSLError, ConnectionError, socket.timeout) as e:
        ex.error = e
    return ex


class Connection:
    """One TLS connection, one request at a time: the test may change
    things on the server between two requests of the same connection."""

    def __init__(self, ctx, port, sni="localhost", timeout=10):
        self.sni = sni
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = ctx.wrap_socket(raw, server_hostname=sni)
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk

    def get(self, path):
        self.send("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, self.sni))
        return self.response()

    def send(self, text):
        """Write raw request bytes: a whole request, or part of one that a
        later send() completes."""
        self.sock.sendall(text.encode() if isinstance(text, str) else text)

    def use_certificate(self, ctx):
        """Present ctx's certificate and key from now on: in the next
        handshake the server asks for on this connection (a renegotiation,
        a post-handshake authentication).  Python's ``SSLSocket.context``
        setter is OpenSSL's SSL_set_SSL_CTX, which replaces the connection's
        certificate and key with the new context's and keeps the rest (the
        session, the protocol version, the post_handshake_auth offer made
        in the ClientHello)."""
        self.sock.context = ctx

    def response(self):
        """Read one response (a Content-Length body)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head = self.buf.split(b"\r\n\r\n", 1)[0]
        n = 0
        for line in head.decode("latin-1").split("\r\n")[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                n = int(v)
        while len(self.buf) < len(head) + 4 + n:
            self._fill()
        resp = parse_responses(self.buf[:len(head) + 4 + n])[0]
        self.buf = self.buf[len(head) + 4 + n:]
        return resp

    def close(self):
        self.sock.close()
