#!/usr/bin/python3
"""The far end of the read-path benchmark (tests/bench/read_bench.sh): on
127.0.0.1, a TLS port and a plain one; each connection's HTTP upgrade is
answered 101, its first frame read, then the server writes bulk binary
WebSocket frames (16 KiB each, unmasked, not Twilsock) until the client goes.
Prints "tls_port N tcp_port M", serves until killed."""
import socket
import ssl
import sys
import threading

FRAME = b"\x82\x7e" + (16380).to_bytes(2, "big") + b"B" * 16380


def serve(conn):
    try:
        data = b""
        while b"\r\n\r\n" not in data:
            more = conn.recv(65536)
            if not more:
                return
            data += more
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        while True:
            conn.sendall(FRAME * 4)
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def listen(ctx):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)

    def loop():
        while True:
            c, _ = s.accept()
            if ctx:
                try:
                    c = ctx.wrap_socket(c, server_side=True)
                except (OSError, ssl.SSLError):
                    c.close()
                    continue
            threading.Thread(target=serve, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
    return s.getsockname()[1]


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
tp, pp = listen(ctx), listen(None)
print("tls_port %d tcp_port %d" % (tp, pp), flush=True)
threading.Event().wait()
