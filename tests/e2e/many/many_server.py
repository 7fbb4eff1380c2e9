"""A TLS server on 127.0.0.1 for t_shim_many.sh: accepts any number of
connections, reads each one's HTTP request head and answers 401 once the
head is complete, keeps the connection until the client closes. Prints its
port, then "ready"; on stdin's end, the count of requests it read."""
import asyncio
import ssl
import sys

from manylib import raise_nofile, serve_until_stdin_ends


async def main(cert, key):
    raise_nofile()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    seen = 0

    async def handle(reader, writer):
        nonlocal seen
        try:
            await reader.readuntil(b"\r\n\r\n")
            seen += 1
            writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            await reader.read()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    await serve_until_stdin_ends(handle, ctx, lambda: seen)


asyncio.run(main(sys.argv[1], sys.argv[2]))
