#!/usr/bin/python3
"""Writes the seed corpus of fuzz_wire: the unit tests' kinds of streams (HTTP,
chunked bodies, SIP, WebSocket captures from tests/fixtures/ws, unknown text,
TLS) each behind the target's two control bytes (host/TLS flags, split seed).

usage: gen_corpus_wire.py [OUTDIR]   (default tests/fuzz/corpus/fuzz_wire)
"""
import glob
import os
import sys

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
