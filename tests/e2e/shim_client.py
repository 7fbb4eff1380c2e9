#!/usr/bin/python3
"""Clients for tokshim's end-to-end tests, run under the shim (never the test
runner itself). Each prints what the server answered on stdout ("reply: ...")
only after it has read it, so a test can check that the shim's stderr line
came first; exit status 0 when the exchange completed (whatever the verdict).

  shim_client.py twilsock URI TOKEN [--update TOKEN] [--deflate] [--binary]
  shim_client.py voice URI TOKEN [--deflate]
  shim_client.py video URI TOKEN
  shim_client.py https HOST PORT TOKEN
  shim_client.py storm HOST PORT TOKEN --threads N --conns M   (HTTPS, N threads)

Options: --cafile PEM (trust), --sni NAME (TLS server name).
Needs Debian's python3-websockets (run with /usr/bin/python3).
"""

import argparse
import asyncio
import json
import socket
import ssl
import sys
import threading


def tls_context(args):
    ctx = ssl.create_default_context(cafile=args.cafile)
    return ctx


def twilsock_frame(header, binary):
    hdr = json.dumps(header, separators=(",", ":")).encode()
    raw = b"TWILSOCK V3.0 %d\r\n" % len(hdr) + hdr + b"\r\n"
    return raw if binary else raw.decode()


def show(data):
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    print("reply: " + data.replace("\r\n", " ").strip(), flush=True)


async def ws_session(args, messages):
    import websockets

    kw = {"open_timeout": 10, "close_timeout": 2,
          "compression": "deflate" if args.deflate else None}
    if args.uri.startswith("wss:"):
        kw["ssl"] = tls_context(args)
        if args.sni:
            kw["server_hostname"] = args.sni
    async with websockets.connect(args.uri, **kw) as ws:
        for m in messages:
            await ws.send(m)
            try:
                data = await asyncio.wait_for(ws.recv(), 10)
            except websockets.exceptions.ConnectionClosed:
                print("closed", flush=True)
                return 0
            show(data)
    return 0


def cmd_twilsock(args):
    msgs = [twilsock_frame({"id": "TM0001", "method": "init", "token": args.token,
                            "continuation_token": None, "metadata": {"ver": "e2e"},
                            "registrations": None, "capabilities": ["client_update"],
                            "payload_size": 0}, args.binary)]
    if args.update:
        msgs.append(twilsock_frame({"id": "TM0002", "method": "update", "token": args.update,
                                    "payload_size": 0}, args.binary))
    return asyncio.run(ws_session(args, msgs))


def cmd_voice(args):
    msg = json.dumps({"type": "listen", "version": "1.6", "payload": {
        "browserinfo": {"p": "e2e"}, "reconnectTimeout": 1, "token": args.token}})
    return asyncio.run(ws_session(args, [msg]))


def cmd_video(args):
    msg = json.dumps({"id": "1", "timeout": 30, "type": "hello", "version": 2, "body": {
        "type": "connect", "version": 2, "name": "e2e-room", "token": args.token}})
    return asyncio.run(ws_session(args, [msg]))


def https_once(args, ctx):
    req = ("GET /v1/e2e HTTP/1.1\r\nHost: %s\r\nX-Twilio-Token: %s\r\nConnection: close\r\n\r\n"
           % (args.sni or args.host, args.token)).encode()
    with socket.create_connection((args.host, args.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=args.sni or args.host) as s:
            s.sendall(req)
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
    return b"".join(chunks)


def cmd_https(args):
    data = https_once(args, tls_context(args))
    head, _, body = data.partition(b"\r\n\r\n")
    show(head.split(b"\r\n")[0] + b" " + body)
    return 0


def cmd_storm(args):
    ctx = tls_context(args)
    done = [0]
    errors = []
    lock = threading.Lock()

    def worker():
        for _ in range(args.conns):
            try:
                data = https_once(args, ctx)
                ok = data.startswith(b"HTTP/1.1 ")
            except OSError as e:
                ok = False
                with lock:
                    errors.append(str(e))
            with lock:
                done[0] += ok

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("storm: %d of %d exchanges completed" % (done[0], args.threads * args.conns), flush=True)
    for e in errors[:5]:
        print("storm error: " + e, flush=True)
    return 0 if done[0] == args.threads * args.conns else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["twilsock", "voice", "video", "https", "storm"])
    p.add_argument("rest", nargs="+")
    p.add_argument("--cafile")
    p.add_argument("--sni")
    p.add_argument("--update")
    p.add_argument("--deflate", action="store_true")
    p.add_argument("--binary", action="store_true")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--conns", type=int, default=100)
    args = p.parse_args()
    if args.mode in ("https", "storm"):
        if len(args.rest) != 3:
            p.error("%s HOST PORT TOKEN" % args.mode)
        args.host, args.port, args.token = args.rest[0], int(args.rest[1]), args.rest[2]
    else:
        if len(args.rest) != 2:
            p.error("%s URI TOKEN" % args.mode)
        args.uri, args.token = args.rest
    return {"twilsock": cmd_twilsock, "voice": cmd_voice, "video": cmd_video,
            "https": cmd_https, "storm": cmd_storm}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
