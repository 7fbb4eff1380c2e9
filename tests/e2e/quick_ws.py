#!/usr/bin/env python3
"""The write hooks' quick check (shim/fast.h) from a real TLS client.

server PORTFILE CERT KEY: a TLS WebSocket server on 127.0.0.1 (port written
  to PORTFILE) that answers the upgrade, reads the client's frames until its
  close frame and answers "bytes=N frames=M" (what it read after the upgrade).
client PORT CAFILE TOKEN SIZE COUNT POS [--text] [--update]: Python's ssl
  (OpenSSL's SSL_write_ex): the upgrade, then COUNT frames of SIZE bytes each,
  one write each: bulk binary frames and Twilsock "message" messages (which
  the quick check takes), and at POS a Twilsock init (or update) carrying
  TOKEN, padded to the same SIZE, so that it looks like the frames before it
  up to its payload; then the close frame. Exit 0 when the server saw every
  byte and frame.
"""
import os
import socket
import ssl
import struct
import sys
import threading


def frame(op, payload, mask):
    n = len(payload)
    if n <= 125:
        h = struct.pack("!BB", 0x80 | op, 0x80 | n)
    elif n <= 65535:
        h = struct.pack("!BBH", 0x80 | op, 0x80 | 126, n)
    else:
        h = struct.pack("!BBQ", 0x80 | op, 0x80 | 127, n)
    body = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return h + mask + body


def frame_of_size(op, size, make_payload):
    """A frame of exactly size bytes: make_payload(n) gives n payload bytes."""
    for hs in (6, 8, 14):
        n = size - hs
        if n < 0:
            continue
        if (hs == 6 and n <= 125) or (hs == 8 and 126 <= n <= 65535) or (hs == 14 and n > 65535):
            return frame(op, make_payload(n), os.urandom(4))
    raise SystemExit("no frame of %d bytes" % size)


def twilsock(method, n, token=None):
    """A Twilsock message of n bytes (preamble, header, payload filling)."""
    for ps in range(n, -1, -1):
        h = {"method": method, "id": "TM0123456789abcdef"}
        hdr = '{"method":"%s","id":"TM0123456789abcdef"' % method
        if token:
            hdr += ',"token":"%s"' % token
        hdr += ',"payload_size":%d}' % ps
        pre = "TWILSOCK V3.0 %d\r\n" % len(hdr)
        msg = (pre + hdr + "\r\n").encode() + b"p" * ps
        if len(msg) == n:
            return msg
    raise SystemExit("no Twilsock message of %d bytes" % n)


def server(portfile, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)

    def serve(c):
        try:
            s = ctx.wrap_socket(c, server_side=True)
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = s.recv(4096)
                if not d:
                    return
                buf += d
            req, rest = buf.split(b"\r\n\r\n", 1)
            s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Accept: x\r\n\r\n")
            total, frames, buf = len(rest), 0, rest

            def fill(need):
                """buf read up to need bytes at least; False at the client's end"""
                nonlocal total, buf
                while len(buf) < need:
                    d = s.recv(65536)
                    if not d:
                        return False
                    total += len(d)
                    buf += d
                return True

            while True:
                if not fill(2):
                    return
                l7 = buf[1] & 0x7F
                hs = 2 + 4 + (2 if l7 == 126 else 8 if l7 == 127 else 0)
                if not fill(hs):
                    return
                n = l7 if l7 < 126 else struct.unpack("!H", buf[2:4])[0] if l7 == 126 else struct.unpack("!Q", buf[2:10])[0]
                if not fill(hs + n):
                    return
                op = buf[0] & 0x0F
                buf = buf[hs + n:]
                frames += 1
                if op == 8:
                    reason = b"\x03\xe8" + ("bytes=%d frames=%d" % (total, frames)).encode()
                    s.sendall(struct.pack("!BB", 0x88, len(reason)) + reason)
                    s.close()
                    return
        except (OSError, ssl.SSLError):
            return

    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def client(port, cafile, token, size, count, pos, text, update):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="tsock.us1.twilio.com")
    s.sendall(b"GET /v3/wsconnect HTTP/1.1\r\nHost: tsock.us1.twilio.com\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n")
    resp = b""
    while b"\r\n\r\n" not in resp:
        resp += s.recv(4096)
    if not resp.startswith(b"HTTP/1.1 101"):
        raise SystemExit("no upgrade")
    op = 1 if text else 2
    sent, frames = 0, 0
    for i in range(count):
        if i == pos:
            f = frame_of_size(op, size, lambda n: twilsock("update" if update else "init", n, token))
        elif i % 3 == 2:
            f = frame_of_size(op, size, lambda n: twilsock("message", n))
        else:
            f = frame_of_size(2, size, lambda n: bytes((j * 7 + 1) & 0xFF for j in range(n)))
        s.sendall(f)  # one SSL_write_ex each (f fits a record or is one call)
        sent += len(f)
        frames += 1
    f = frame(8, b"\x03\xe8", os.urandom(4))
    s.sendall(f)
    sent += len(f)
    frames += 1
    reply = b""
    while len(reply) < 2 or len(reply) < 2 + reply[1]:
        d = s.recv(256)
        if not d:
            break
        reply += d
    want = ("bytes=%d frames=%d" % (sent, frames)).encode()
    if reply[4:] != want:
        raise SystemExit("server saw %r, sent %r" % (reply[4:], want))
    print("ok " + want.decode())


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(*sys.argv[2:5])
    else:
        a = sys.argv[2:]
        client(int(a[0]), a[1], a[2], int(a[3]), int(a[4]), int(a[5]), "--text" in a, "--update" in a)
