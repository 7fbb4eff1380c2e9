"""What the programs of tests/e2e/many share: the open-file limit raised to
its hard limit (thousands of connections), and a server's life on stdin."""
import asyncio
import resource
import sys


def raise_nofile():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def serve_until_stdin_ends(handle, ctx, count):
    """Serves handle on 127.0.0.1 (TLS with ctx, plain when None): prints the
    port, then "ready"; on stdin's end, count()."""
    srv = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx, backlog=4096)
    print(srv.sockets[0].getsockname()[1], flush=True)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    print(count(), flush=True)
