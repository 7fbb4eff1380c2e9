"""A TLS server on 127.0.0.1 for t_shim_many.sh: accepts any number of
connections, reads each one's HTTP request head and answers 401 once the
head is complete, keeps the connection until the client closes. Prints its
port, then "ready"; on stdin's end, the count of requests it read."""
import asyncio
import resource
import ssl
import sys


async def main(cert, key):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
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

    srv = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx, backlog=4096)
    print(srv.sockets[0].getsockname()[1], flush=True)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    print(seen, flush=True)


asyncio.run(main(sys.argv[1], sys.argv[2]))
