"""The client of t_shim_many.sh (run under the shim): opens N TLS
connections to 127.0.0.1:PORT and keeps them all open at once; once every
one is open, sends on each an HTTPS request carrying the token of file
TOKENS line i (X-Twilio-Token), reads each answer, then closes them all.
Prints "open N", "answered N"."""
import asyncio
import ssl
import sys

from manylib import raise_nofile


async def main(port, n, cafile, tokens):
    raise_nofile()
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    gate = asyncio.Semaphore(64)  # handshakes in flight, not connections

    async def opened():
        async with gate:
            return await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost"), 30)

    conns = await asyncio.gather(*(opened() for _ in range(n)))
    print("open", len(conns), flush=True)

    async def ask(i, rw):
        reader, writer = rw
        writer.write(("GET /v1/config HTTP/1.1\r\nHost: insights.twilio.com\r\n"
                      "X-Twilio-Token: %s\r\n\r\n" % tokens[i % len(tokens)]).encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 30)
        return line.startswith(b"HTTP/1.1 401")

    got = await asyncio.gather(*(ask(i, rw) for i, rw in enumerate(conns)))
    print("answered", sum(got), flush=True)
    for _, w in conns:
        w.close()


toks = open(sys.argv[4]).read().split()
asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], toks))
