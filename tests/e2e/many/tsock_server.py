"""A Twilsock server over TLS WebSockets on 127.0.0.1 for t_shim_many_live.sh
and tests/bench/conn_mem_bench.sh: any number of connections at once.
Every client message with an id gets a reply 200 (status OK), except an
init whose id starts with TMhold: its reply waits until the same connection
sends a `release` message; after the held reply the server also sends a
`message` with a payload and a ping frame (traffic the client reads). With
--plain, ws:// instead. Prints its port, then "ready"; on stdin's end, the
count of messages it read."""
import asyncio
import json
import ssl
import struct
import sys

from manylib import raise_nofile, serve_until_stdin_ends


def frame(payload, op=2):
    n = len(payload)
    if n < 126:
        h = struct.pack("!BB", 0x80 | op, n)
    elif n < 65536:
        h = struct.pack("!BBH", 0x80 | op, 126, n)
    else:
        h = struct.pack("!BBQ", 0x80 | op, 127, n)
    return h + payload


def tsock(header, payload=b""):
    h = json.dumps(header, separators=(",", ":")).encode()
    return b"TWILSOCK V3.0 %d\r\n" % len(h) + h + b"\r\n" + payload


def reply(mid):
    return frame(tsock({"method": "reply", "id": mid, "status": {"code": 200, "status": "OK"},
                        "payload_size": 0}))


async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    mask = await reader.readexactly(4) if b1 & 0x80 else b"\0\0\0\0"
    data = await reader.readexactly(n)
    return b0 & 0x0F, bytes(c ^ mask[i & 3] for i, c in enumerate(data))


def header_of(payload):
    first, _, rest = payload.partition(b"\r\n")
    n = int(first.split(b" ")[2])
    return json.loads(rest[:n])


async def main(cert, key, plain):
    raise_nofile()
    ctx = None
    if not plain:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    seen = 0

    async def handle(reader, writer):
        nonlocal seen
        held = None
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: x\r\n\r\n")
            while True:
                op, data = await read_frame(reader)
                if op == 8:
                    break
                if op not in (1, 2):
                    continue
                seen += 1
                h = header_of(data)
                mid = h.get("id", "")
                if h.get("method") == "init" and mid.startswith("TMhold"):
                    held = mid
                    continue
                if h.get("method") == "release" and held:
                    writer.write(reply(held))
                    writer.write(frame(tsock({"method": "message", "id": "TMsrv", "payload_size": 300},
                                             b"p" * 300)))
                    writer.write(frame(b"", op=9))
                    held = None
                if mid:
                    writer.write(reply(mid))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, ValueError):
            pass
        finally:
            writer.close()

    await serve_until_stdin_ends(handle, ctx, lambda: seen)


if __name__ == "__main__":
    plain = "--plain" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--plain"]
    asyncio.run(main(args[0] if args else None, args[1] if len(args) > 1 else None, plain))
