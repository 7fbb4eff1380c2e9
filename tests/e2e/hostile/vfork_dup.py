"""vfork_dup.py PORT TOKEN1 TOKEN2 [spawn]: a request with TOKEN1 to
127.0.0.1:PORT, then (spawn) subprocess.run with stderr=PIPE (Python 3.10+
forks with vfork; the child dup2()s the pipe onto its fd 2, in our memory),
then a request with TOKEN2. The child's dup2 switched the parent's stderr
reports off for good."""
import socket, subprocess, sys


def send(tok):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: " + tok.encode() + b"\r\n\r\n")
    s.close()


send(sys.argv[2])
if len(sys.argv) > 4 and sys.argv[4] == "spawn":
    r = subprocess.run(["true"], stderr=subprocess.PIPE)
    assert r.returncode == 0
send(sys.argv[3])
