#!/usr/bin/python3
"""A Twilsock client on python3-websockets (asyncio, TLS through OpenSSL's
SSL_read_ex/SSL_write_ex, permessage-deflate offered as the library does by
default): sends init with TOKEN, prints the reply's status. For tokshim's
answer tests with compressed server frames. Exit 0 accepted, 1 refused."""
import asyncio
import json
import ssl
import sys

import websockets


def tsock(header):
    h = json.dumps(header, separators=(",", ":"))
    return "TWILSOCK V3.0 %d\r\n%s\r\n" % (len(h), h)


async def main(port, cafile, token, compression):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    async with websockets.connect("wss://127.0.0.1:%d/v3/wsconnect" % port, ssl=ctx,
                                  server_hostname="tsock.us1.twilio.com",
                                  compression=compression) as ws:
        print("extensions:", [e.name for e in ws.extensions])
        await ws.send(tsock({"id": "TMws1", "method": "init", "token": token, "payload_size": 0}))
        async for msg in ws:
            first, _, rest = msg.partition("\r\n")
            h = json.loads(rest[:int(first.split(" ")[2])])
            print("server:", h.get("method"), json.dumps(h.get("status")))
            if h.get("method") == "reply" and h.get("id") == "TMws1":
                return 0 if h["status"]["code"] == 200 else 1
    return 1


if __name__ == "__main__":
    comp = None if "--no-deflate" in sys.argv else "deflate"
    args = [a for a in sys.argv[1:] if a != "--no-deflate"]
    sys.exit(asyncio.run(main(int(args[0]), args[1], args[2], comp)))
