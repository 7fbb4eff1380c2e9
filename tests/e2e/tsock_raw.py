#!/usr/bin/python3
"""A Twilsock client over a plain socket (ws://), for tokshim's read-path tests.

It reads the way some clients do: with --peek every read is a recv(MSG_PEEK)
first, then the real recv of the same bytes (the shim must count them once).
Sends init with TOKEN; prints each server message's method/status on stdout.
  --stay SECONDS    keep reading (pings, client_update) for SECONDS after the reply
  --update TOKEN2   answer token_about_to_expire with an update carrying TOKEN2
  --send-after S    send a Twilsock ping message S seconds after the reply (traffic)
  --reader CALL     recv (default), recvmsg, readv or read: the call that reads
  --eagain          first try a non-blocking recv before the reply can be there
                    (EAGAIN must come through with its errno)
  --trunc N         discard the first N bytes after the handshake with
                    recv(MSG_TRUNC) (the shim must then give the direction up)
Exit status: 0 init accepted, 1 refused, 2 error. Never prints a token.
"""
import argparse
import base64
import errno
import json
import os
import select
import socket
import struct
import sys
import time


def frame(payload, op=2):
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        h = struct.pack("!BB", 0x80 | op, 0x80 | n)
    elif n < 65536:
        h = struct.pack("!BBH", 0x80 | op, 0x80 | 126, n)
    else:
        h = struct.pack("!BBQ", 0x80 | op, 0x80 | 127, n)
    return h + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))


def tsock(header):
    h = json.dumps(header, separators=(",", ":")).encode()
    return b"TWILSOCK V3.0 %d\r\n" % len(h) + h + b"\r\n"


class Conn:
    def __init__(self, sock, peek, reader="recv"):
        self.s = sock
        self.peek = peek
        self.reader = reader
        self.buf = b""

    def read(self, n):
        if self.reader == "recvmsg":
            data, _, _, _ = self.s.recvmsg(n)
            return data
        if self.reader in ("readv", "read"):
            # the socket has a timeout, so its fd is non-blocking: wait first
            select.select([self.s], [], [], 10)
        if self.reader == "readv":
            a, b = bytearray(n // 2), bytearray(n - n // 2)
            k = os.readv(self.s.fileno(), [a, b])
            return bytes((a + b)[:k])
        if self.reader == "read":
            return os.read(self.s.fileno(), n)
        return self.s.recv(n)

    def more(self):
        if self.peek:
            p = self.s.recv(4096, socket.MSG_PEEK)
            if not p:
                raise EOFError
            got = self.s.recv(len(p))
        else:
            got = self.read(4096)
        if not got:
            raise EOFError
        self.buf += got

    def need(self, n):
        while len(self.buf) < n:
            self.more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def message(self):
        """(opcode, payload) of the next server frame (unmasked, not fragmented)."""
        b0, b1 = self.need(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack("!H", self.need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.need(8))[0]
        return b0 & 0x0f, self.need(n)


def header_of(payload):
    first, _, rest = payload.partition(b"\r\n")
    n = int(first.split(b" ")[2])
    return json.loads(rest[:n])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--peek", action="store_true")
    p.add_argument("--stay", type=float, default=0)
    p.add_argument("--update")
    p.add_argument("--send-after", type=float)
    p.add_argument("--reader", default="recv", choices=["recv", "recvmsg", "readv", "read"])
    p.add_argument("--eagain", action="store_true")
    p.add_argument("--trunc", type=int, default=0)
    p.add_argument("token")
    a = p.parse_args()
    s = socket.create_connection(("127.0.0.1", a.port), 10)
    s.settimeout(10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /v3/wsconnect HTTP/1.1\r\nHost: tsock.us1.twilio.com\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
    c = Conn(s, a.peek, a.reader)
    while b"\r\n\r\n" not in c.buf:
        c.more()
    head, _, c.buf = c.buf.partition(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0]:
        print("upgrade refused")
        return 1
    if a.eagain:
        s.setblocking(False)
        try:
            s.recv(4096)
            print("eagain: data already there")
        except BlockingIOError as e:
            print("eagain: errno %s" % ("EAGAIN" if e.errno == errno.EAGAIN else e.errno))
        s.settimeout(10)
    s.sendall(frame(tsock({"id": "TMinit1", "method": "init", "token": a.token, "payload_size": 0})))
    if a.trunc:
        time.sleep(0.5)
        n = len(s.recv(a.trunc, socket.MSG_TRUNC))
        print("trunc: discarded %d" % n)
        c.buf = b""
        return 0
    status = None
    while status is None:
        op, pl = c.message()
        if op == 2 or op == 1:
            h = header_of(pl)
            print("server:", h.get("method"), json.dumps(h.get("status")))
            if h.get("method") == "reply" and h.get("id") == "TMinit1":
                status = h["status"]["code"]
        elif op == 8:
            print("server: close frame")
            return 1
    end = time.time() + a.stay
    sent_ping = False
    start = time.time()
    while time.time() < end:
        s.settimeout(max(0.1, end - time.time()))
        try:
            op, pl = c.message()
        except (socket.timeout, EOFError):
            break
        if op in (1, 2):
            h = header_of(pl)
            print("server:", h.get("method"), h.get("client_update_type", ""), json.dumps(h.get("status")))
            if h.get("client_update_type") == "token_about_to_expire" and a.update:
                s.sendall(frame(tsock({"id": "TMupd1", "method": "update", "token": a.update,
                                       "payload_size": 0})))
        elif op == 9:
            s.sendall(frame(pl, op=10))  # pong
            if a.send_after is not None and not sent_ping and time.time() - start >= a.send_after:
                s.sendall(frame(tsock({"id": "TMping", "method": "ping", "payload_size": 0})))
                sent_ping = True
        elif op == 8:
            print("server: close frame")
            break
    s.close()
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
