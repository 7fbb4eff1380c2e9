#!/usr/bin/python3
"""Writes the seed corpus of fuzz_h2: HTTP/2 frame streams after the connection
preface (the target adds it), each behind the target's split-seed byte:
SETTINGS, HEADERS with literal and indexed HPACK fields (RFC 7541 6.1, 6.2),
padding and priority, CONTINUATION, DATA, RST_STREAM, GOAWAY, and a server
side reply with PUSH_PROMISE.

usage: gen_corpus_h2.py [OUTDIR]   (default tests/fuzz/corpus/fuzz_h2)
"""
import os
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(here, "..", "fixtures"))
from gen_ws_frames import CHAT, token  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "fuzz_h2")
os.makedirs(out, exist_ok=True)
tok = token("alice", CHAT)


def hint(v, bits, flags=0):
    lim = (1 << bits) - 1
    if v < lim:
        return bytes([flags | v])
    o = [flags | lim]
    v -= lim
    while v >= 128:
        o.append(0x80 | (v & 0x7F))
        v >>= 7
    return bytes(o + [v])


def lit(name, value, indexing=False):
    n, v = name.encode(), value.encode()
    return (b"\x40" if indexing else b"\x00") + hint(len(n), 7) + n + hint(len(v), 7) + v


def frame(t, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", stream) + payload


settings = frame(4, 0, 0, struct.pack(">HI", 1, 4096) + struct.pack(">HI", 4, 65535))
req = (b"\x82\x86" + lit(":authority", "insights.twilio.com", True) + b"\x84"
       + lit("x-twilio-token", tok, True))
req2 = b"\x82\x86\xbf\x84\xbe"  # the same request from the dynamic table
# after `bearer`, index 62 (0xbe) is its :authority
bearer = b"\x83\x86" + lit(":authority", "insights.twilio.com", True) + b"\x84" + lit("authorization", "Bearer " + tok)
query = b"\x82\x86\xbe" + lit(":path", "/v1?token=" + tok)
seeds = {
    "headers": settings + frame(1, 5, 1, req) + frame(1, 5, 3, req2),
    "continuation": settings + frame(1, 0x8 | 0x20, 1, bytes([3]) + b"\x80\x00\x00\x00\x10" + req[:20] + b"\0\0\0")
    + frame(9, 0, 1, req[20:200]) + frame(9, 4, 1, req[200:]),
    "data_query": settings + frame(1, 4, 1, bearer) + frame(0, 0, 1, b"x" * 300)
    + frame(0, 9, 1, bytes([10]) + b"y" * 20 + b"\0" * 10) + frame(1, 5, 3, query),
    "control": settings + frame(6, 0, 0, b"12345678") + frame(8, 0, 0, b"\0\0\1\0")
    + frame(1, 5, 1, req) + frame(3, 0, 1, b"\0\0\0\x08") + frame(7, 0, 0, b"\0\0\0\1\0\0\0\0debug"),
    "table_size": settings + frame(1, 5, 1, b"\x3f\xe1\x1f" + req),
    "server_reply": frame(4, 0, 0, struct.pack(">HI", 1, 8192)) + frame(4, 1, 0, b"")
    + frame(5, 4, 1, b"\0\0\0\2" + b"\x82" + lit(":path", "/p.css") + b"\x87")
    + frame(1, 4, 1, lit(":status", "401", True) + lit("content-type", "application/json"))
    + frame(0, 1, 1, b'{"code":20104,"message":"Access Token expired","status":401}'),
}
for name, body in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([7]) + body)
