"""The server side of tests/e2e/ffi/mytls.h: TCP on 127.0.0.1, every byte
XORed with 0x5a. Prints its port, then for each connection reads one HTTP
request, writes its request line to stderr (so a test can see the bytes
arrived intact) and answers 401."""
import socket
import sys

KEY = 0x5A


def xor(b):
    return bytes(c ^ KEY for c in b)


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    print(srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        conn.settimeout(10)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += xor(chunk)
            line = data.split(b"\r\n", 1)[0].decode("latin-1")
            print("request: %s (%d bytes)" % (line, len(data)), file=sys.stderr, flush=True)
            conn.sendall(xor(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
        except OSError as e:
            print("error: %s" % e, file=sys.stderr, flush=True)
        conn.close()


if __name__ == "__main__":
    main()
