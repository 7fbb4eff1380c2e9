#!/usr/bin/python3
"""Writes the seed corpus of fuzz_wire: the unit tests' kinds of streams (HTTP,
chunked bodies, SIP, WebSocket captures from tests/fixtures/ws, unknown text,
TLS) each behind the target's two control bytes (host/TLS flags, split seed),
and frame streams after a handshake in both directions (flags 0x80..0xe0: client
or server frames, with and without context takeover).

usage: gen_corpus_wire.py [OUTDIR]   (default tests/fuzz/corpus/fuzz_wire)
"""
import glob
import os
import sys
import zlib

here = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(here, "..", "fixtures"))
from gen_ws_frames import CHAT, VOICE, token  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "fuzz_wire")
os.makedirs(out, exist_ok=True)
t1 = token("alice", CHAT).encode()
tv = token("alice_1", VOICE).encode()

seeds = {
    "http_header": (0, b"GET /v1/c HTTP/1.1\r\nHost: eventgw.twilio.com\r\nX-Twilio-Token: " + tv
                    + b"\r\n\r\n"),
    "http_bearer_body": (0, b"POST /a HTTP/1.1\r\nHost: media.twilio.com\r\nContent-Length: 5\r\n\r\n"
                         b"abcdeGET /b HTTP/1.1\r\nAuthorization: Bearer " + t1 + b"\r\n\r\n"),
    "http_chunked_query": (0, b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;e=1\r\nwxyz\r\n"
                           b"0\r\nT: 1\r\n\r\nGET /?a=1&token=" + t1.replace(b".", b"%2E")
                           + b" HTTP/1.1\r\n\r\n"),
    "http_json_body": (0, b"POST /l HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: %d"
                       b"\r\n\r\n{\"token\":\"%s\"}" % (len(t1) + 12, t1)),
    "sip_register": (0, b"REGISTER sip:a@b SIP/2.0\r\nX-Twilio-AccessToken: " + tv
                     + b"\r\nl: 4\r\n\r\nabcdINVITE sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n"),
    "raw_text": (0, b"HELO x\r\nuser token " + t1 + b"\r\n"),
    "tls_record": (0, b"\x16\x03\x01\x00\x05hello"),
    "connect": (0, b"CONNECT a:443 HTTP/1.1\r\n\r\n\x16\x03\x01\x00\x01x"),
}
for name, (flags, data) in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([flags, 0x5a]) + data)
for i, path in enumerate(sorted(glob.glob(os.path.join(here, "..", "fixtures", "ws", "*.bin")))):
    with open(path, "rb") as f:
        data = f.read()
    name = "ws_" + os.path.basename(path)[:-4]
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([8 | (i % 8), i * 37 & 0xff]) + data)


def frame(op, payload, fin=True, rsv1=False, mask=None):
    h = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | op])
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        h += bytes([m | n])
    elif n < 65536:
        h += bytes([m | 126]) + n.to_bytes(2, "big")
    else:
        h += bytes([m | 127]) + n.to_bytes(8, "big")
    if mask:
        payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        h += mask
    return h + payload


def deflated(msgs, reset):
    out = []
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    for m in msgs:
        if reset:
            z = zlib.compressobj(6, zlib.DEFLATED, -15)
        d = z.compress(m) + z.flush(zlib.Z_SYNC_FLUSH)
        out.append(d[:-4] if d.endswith(b"\x00\x00\xff\xff") else d)
    return out


hdr = b'{"method":"init","id":"TM1","token":"%s"}' % t1
tw = b"TWILSOCK V3.0 %d\r\n%s\r\n" % (len(hdr), hdr)
reply = b'{"method":"reply","id":"TM1","status":{"code":401,"status":"UNAUTHORIZED","errorCode":20104}}'
rw = b"TWILSOCK V3.0 %d\r\n%s\r\n" % (len(reply), reply)
bulk = bytes(range(256)) * 70
for flags, mask, msgs in ((0x80, b"\x37\xfa\x21\x3d", (tw, bulk, tw)), (0xc0, None, (rw, bulk, tw))):
    for ctx in (0, 1):
        plain = b"".join(frame(2, m, mask=mask) for m in msgs) + frame(9, b"p", mask=mask)
        comp = b"".join(frame(2, d, rsv1=True, mask=mask) for d in deflated(msgs, ctx))
        name = "ws_%s_%s" % ("client" if flags == 0x80 else "server", "noctx" if ctx else "ctx")
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([flags | (0x20 if ctx else 0), 0x33]) + plain + comp)
