#!/usr/bin/env python3
"""A minimal HTTP/2 prior-knowledge client (cleartext), for the shim tests:
python3 does not load libnghttp2, so the shim has to dlopen its own copy.
Sends the connection preface, SETTINGS, one GET with the given headers
(HPACK literals without indexing, no Huffman: RFC 7541 6.2.2), reads until
the server's response on stream 1 ends, prints its :status-bearing HEADERS
frame count and the body length.  usage: h2_raw_client.py PORT NAME=VALUE..."""
import socket
import struct
import sys


def hint(v, prefix_bits):
    """HPACK integer with an N-bit prefix (RFC 7541 5.1), first byte's flags 0."""
    lim = (1 << prefix_bits) - 1
    if v < lim:
        return bytes([v])
    out = [lim]
    v -= lim
    while v >= 128:
        out.append(0x80 | (v & 0x7F))
        v >>= 7
    out.append(v)
    return bytes(out)


def literal(name, value):
    n, v = name.encode(), value.encode()
    return b"\x00" + hint(len(n), 7) + n + hint(len(v), 7) + v


def frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def main():
    port = int(sys.argv[1])
    fields = [(":method", "GET"), (":scheme", "http"), (":authority", "localhost:%d" % port),
              (":path", "/index.html")]
    for a in sys.argv[2:]:
        k, v = a.split("=", 1)
        fields.append((k, v))
    block = b"".join(literal(k, v) for k, v in fields)
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.settimeout(10)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b""))
    s.sendall(frame(1, 0x4 | 0x1, 1, block))
    buf = b""
    headers = body = 0
    done = False
    while not done:
        d = s.recv(65536)
        if not d:
            break
        buf += d
        while len(buf) >= 9:
            ln = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + ln:
                break
            ftype, flags = buf[3], buf[4]
            stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            buf = buf[9 + ln:]
            if ftype == 4 and not flags & 1:
                s.sendall(frame(4, 1, 0, b""))  # SETTINGS ACK
            if stream == 1 and ftype == 1:
                headers += 1
            if stream == 1 and ftype == 0:
                body += ln
            if stream == 1 and ftype in (0, 1) and flags & 1:
                done = True
            if ftype == 7:
                done = True
    s.sendall(frame(7, 0, 0, struct.pack(">II", 1, 0)))
    s.close()
    print("headers=%d body=%d" % (headers, body))
    return 0 if headers else 1


if __name__ == "__main__":
    sys.exit(main())
