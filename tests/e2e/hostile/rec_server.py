"""TCP server on 127.0.0.1 (free port printed first): what each connection
sent goes, at its end, to DIR/N.bin (N from 1)."""
import os, socket, sys, threading

out = sys.argv[1]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
n = 0


def handle(c, i):
    data = b""
    c.settimeout(10)
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            data += d
    except OSError:
        pass
    tmp = os.path.join(out, "%d.tmp" % i)
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(out, "%d.bin" % i))


while True:
    c, _ = s.accept()
    n += 1
    threading.Thread(target=handle, args=(c, n), daemon=True).start()
