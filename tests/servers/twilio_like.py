#!/usr/bin/python3
"""Local servers that speak like Twilio's, for tokshim's demo and end-to-end tests.

One process, asyncio, Python's standard library plus Debian's python3-websockets
(and python3-h2 for --h2/--h2c).
It listens on 127.0.0.1 only, on the ports given (0: pick a free one):

  --twilsock PORT   wss://  WebSocket over TLS (Twilsock at /v3/wsconnect,
                            Voice at /signal, Video at /signaling)
  --voice PORT      wss://  the same WebSocket endpoints (one port per product
  --video PORT      wss://  so a test can tell connections apart)
  --ws-plain PORT   ws://   the same WebSocket endpoints without TLS
  --https PORT      https:// any path; reads the X-Twilio-Token header
  --http PORT       http://  the same without TLS
  --h2 PORT         https:// HTTP/2 (ALPN h2), the same answers per stream
  --h2c PORT        http://  HTTP/2 with prior knowledge, the same

The server judges each token itself, like Twilio would, with a simplified but
honest validator (HS256/384/512 signature with --secret, cty, exp/nbf, TTL,
issuer/subject, region, the product's grant and fields), and answers with the
reply shapes and error codes of ../../../shared/TWILIO.md:

  Twilsock init/update -> {"method":"reply","id":...,"status":{"code":401,
                           "status":"UNAUTHORIZED","errorCode":20104,...}} or 200 OK
  Twilsock message     -> (an HTTP request to a service behind Twilsock, in
                           http_request) 200 OK with the service's http_status,
                           http_headers and JSON body: the Conversations client's
                           start (its configuration, its conversations: none,
                           its Sync maps, Sync's subscription request), 404
                           for anything else; a client's reply is not answered
  Voice listen         -> {"type":"error","payload":{"error":{"code":31205,...}}}
                           or {"type":"connected",...}; register -> {"type":"ready"}
  Video hello/connect  -> {"type":"error","code":20104,"message":"..."} or a
                           {"type":"msg","body":{"type":"connected",...}}
  HTTP                 -> 401 {"code":20101,"message":...,"status":401} or 200

Answer behaviours (tokshim's answer records, SPEC.md "what answers what"):
  --force-code CODE     reject every token with CODE whatever it holds (a key the
                        server does not know: 20103 for a token valid locally;
                        Voice maps it to its own code unless it is one, e.g. 31205)
  --warn-then-silence   Twilsock: after an accepted init, warn token_about_to_expire
                        (at once when less than 3 minutes are left) and at expiry
                        neither close nor reply again: only pings, once a second
  --no-deflate          WebSocket without permessage-deflate

On start it prints one JSON line on stdout with the ports it listens on, e.g.
{"twilsock": 40123, "https": 40125}, then the line "ready". Each decision is
one line on stderr ("server: twilsock init rejected 20104 ..."). It never
prints a token, a signature or a secret. SIGTERM or SIGINT: clean exit 0.
"""

import argparse
import asyncio
import base64
import binascii
import hashlib
import hmac
import http
import json
import os
import re
import secrets as rnd
import signal
import ssl
import sys
import time

import websockets
import websockets.exceptions
import websockets.server

TOKEN_MAX = 16384
MAX_TTL = 86400
CTY = "twilio-fpa;v=1"
HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
SID_RE = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")

# Twilio's texts for the Access Token codes.
TEXTS = {
    20101: "Invalid Access Token",
    20102: "Invalid Access Token header",
    20103: "Invalid Access Token issuer/subject",
    20104: "Access Token expired or expiration date invalid",
    20105: "Access Token not yet valid",
    20106: "Invalid Access Token grants",
    20107: "Invalid Access Token signature",
    20151: "Authentication Failed",
    20154: "Invalid Claim Set",
    20157: "Expiration Time Exceeds Maximum Time Allowed",
    51104: "Service instance not found",
    51105: "No identity in token",
    51106: "Product does not match the service instance",
    51214: "Not acceptable message",
    51215: "Unauthorized",
}
VOICE_TEXTS = {
    31202: "JWT signature validation failed",
    31204: "JWT is invalid",
    31205: "JWT token expired",
    31207: "JWT token expiration too long",
}


def log(msg):
    sys.stderr.write("server: " + msg + "\n")
    sys.stderr.flush()


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def ago(sec):
    sec = int(abs(sec))
    if sec >= 3600:
        return "%dh%02dm" % (sec // 3600, sec % 3600 // 60)
    if sec >= 60:
        return "%dm%02ds" % (sec // 60, sec % 60)
    return "%ds" % sec


class Reject(Exception):
    """A token the server refuses: Twilio code and the evidence for the log."""

    def __init__(self, code, why):
        super().__init__(why)
        self.code = code
        self.why = why


def b64url(seg):
    if not seg or len(seg) % 4 == 1 or not re.fullmatch(r"[A-Za-z0-9_-]*", seg):
        raise Reject(20101, "not base64url")
    try:
        return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))
    except (binascii.Error, ValueError):
        raise Reject(20101, "not base64url") from None


def json_object(raw, what):
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Reject(20101, what + " is not JSON") from None
    if not isinstance(obj, dict):
        raise Reject(20101, what + " is not a JSON object")
    return obj


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Validator:
    """What a Twilio edge checks before it lets a token in (simplified)."""

    def __init__(self, secrets, account, skew, region, clock):
        self.secrets = secrets  # list of (key_sid or None, secret bytes)
        self.account = account
        self.skew = skew
        self.region = region
        self.clock = clock

    force_code = None

    def check(self, token, product, region=None):
        """Returns the claims when the token is good for `product`
        ("conversations", "sync", "twilsock", "voice", "video" or None for any);
        raises Reject otherwise."""
        if self.force_code:
            raise Reject(self.force_code, "--force-code %d" % self.force_code)
        if not isinstance(token, str) or not token:
            raise Reject(20101, "no token")
        if len(token) > TOKEN_MAX:
            raise Reject(20101, "token longer than %d bytes" % TOKEN_MAX)
        parts = token.split(".")
        if len(parts) != 3:
            raise Reject(20101, "not three dot-separated segments")
        header = json_object(b64url(parts[0]), "header")
        claims = json_object(b64url(parts[1]), "payload")
        sig = b64url(parts[2]) if parts[2] else b""

        alg = header.get("alg")
        if alg not in HASHES:
            raise Reject(20102, "alg %s is not accepted" % json.dumps(alg))
        if header.get("cty") != CTY:
            raise Reject(20102, "cty %s is not %s" % (json.dumps(header.get("cty")), CTY))

        iss = claims.get("iss")
        sub = claims.get("sub")
        if not isinstance(iss, str) or not SID_RE.match(iss) or not iss.startswith("SK"):
            raise Reject(20103, "iss %s is not an API Key SID" % json.dumps(iss)[:48])
        if not isinstance(sub, str) or not SID_RE.match(sub) or not sub.startswith("AC"):
            raise Reject(20103, "sub %s is not an Account SID" % json.dumps(sub)[:48])
        if self.account and sub != self.account:
            raise Reject(20103, "sub %s is not this account" % sub)
        twr = header.get("twr") or "us1"
        want = region or self.region
        if twr != want:
            raise Reject(20103, "API Key %s of region %s is unknown in %s" % (iss[:8] + "...", twr, want))

        if self.secrets:
            signing_input = (parts[0] + "." + parts[1]).encode()
            keys = [s for k, s in self.secrets if k == iss] or [s for k, s in self.secrets if k is None]
            good = any(hmac.compare_digest(hmac.new(s, signing_input, HASHES[alg]).digest(), sig)
                       for s in keys)
            if not good:
                raise Reject(20107, "signature does not match the secret of %s" % (iss[:8] + "..."))

        now = self.clock()
        exp = claims.get("exp")
        if not is_num(exp):
            raise Reject(20154, "exp missing or not a number")
        if not isinstance(claims.get("jti"), str) or not claims["jti"]:
            raise Reject(20154, "jti missing")
        if now > exp + self.skew:
            raise Reject(20104, "expired %s ago at %s" % (ago(now - exp), iso(exp)))
        nbf = claims.get("nbf")
        if nbf is not None and not is_num(nbf):
            raise Reject(20154, "nbf not a number")
        if nbf is not None and nbf > now + self.skew:
            raise Reject(20105, "not valid before %s (in %s)" % (iso(nbf), ago(nbf - now)))
        start = nbf if nbf is not None else claims.get("iat") if is_num(claims.get("iat")) else now
        if exp - start > MAX_TTL:
            raise Reject(20157, "lifetime %s exceeds 24h" % ago(exp - start))

        grants = claims.get("grants")
        if not isinstance(grants, dict):
            raise Reject(20106, "no grants")
        identity = grants.get("identity")
        if identity is not None and not isinstance(identity, str):
            raise Reject(20106, "identity is not a string")

        if product in ("twilsock", "conversations", "sync"):
            self.check_twilsock(grants, product)
        elif product == "voice":
            self.check_voice(grants)
        elif product == "video":
            self.check_video(grants, twr)
        return claims

    @staticmethod
    def service(grants, key):
        g = grants.get(key)
        if not isinstance(g, dict):
            return None
        return g.get("service_sid")

    def check_twilsock(self, grants, product):
        keys = {"conversations": ["chat"], "sync": ["data_sync"]}.get(product, ["chat", "data_sync"])
        present = [k for k in keys if isinstance(grants.get(k), dict)]
        if not present:
            raise Reject(20106, "no %s grant" % " or ".join(keys))
        for k in present:
            sid = self.service(grants, k)
            if not isinstance(sid, str) or not sid:
                raise Reject(51104, "%s grant has no service_sid" % k)
            if not SID_RE.match(sid) or not sid.startswith("IS"):
                raise Reject(51104, "%s.service_sid %s is not a Service SID (IS...)" % (k, sid[:34]))
        if not grants.get("identity"):
            raise Reject(51105, "no identity")

    def check_voice(self, grants):
        v = grants.get("voice")
        if not isinstance(v, dict):
            raise Reject(31204, "no voice grant")
        ident = grants.get("identity")
        if not ident:
            raise Reject(31204, "no identity")
        if not re.fullmatch(r"[A-Za-z0-9_]+", ident):
            raise Reject(31204, "identity %s holds characters other than letters, digits, _"
                         % json.dumps(ident)[:40])
        out = v.get("outgoing") if isinstance(v.get("outgoing"), dict) else {}
        inc = v.get("incoming") if isinstance(v.get("incoming"), dict) else {}
        app = out.get("application_sid")
        if app is not None and (not isinstance(app, str) or not SID_RE.match(app) or not app.startswith("AP")):
            raise Reject(31204, "outgoing.application_sid is not a TwiML App SID (AP...)")
        if not app and inc.get("allow") is not True:
            raise Reject(31204, "voice grant allows neither outgoing nor incoming calls")

    def check_video(self, grants, twr):
        if twr != "us1":
            raise Reject(20103, "Video needs a us1 API Key, this one is from %s" % twr)
        if not isinstance(grants.get("video"), dict):
            raise Reject(20106, "no video grant")
        if not grants.get("identity"):
            raise Reject(20106, "no identity")


def voice_code(code):
    return {20104: 31205, 20105: 31204, 20107: 31202, 20157: 31207}.get(
        code, code if code in VOICE_TEXTS else 31204)


def sid(prefix):
    return prefix + rnd.token_hex(16)


class TwilioLike:
    def __init__(self, args):
        self.args = args
        self.offset = (args.now - time.time()) if args.now is not None else 0.0
        secret_list = []
        for s in args.secret or []:
            m = re.match(r"^(SK[0-9a-fA-F]{32})[:=](.+)$", s)
            secret_list.append((m.group(1), m.group(2).encode()) if m else (None, s.encode()))
        self.validator = Validator(secret_list, args.account, args.skew, args.region, self.now)
        self.validator.force_code = args.force_code
        self.stop = None

    def now(self):
        return time.time() + self.offset

    async def delay(self):
        if self.args.reply_delay > 0:
            await asyncio.sleep(self.args.reply_delay)

    # ---- WebSocket: routing ------------------------------------------------
    async def process_request(self, path, headers):
        route = path.split("?", 1)[0]
        if route not in ("/v3/wsconnect", "/signal", "/signaling"):
            log("ws %s: 404" % route[:64])
            return (http.HTTPStatus.NOT_FOUND, [("Content-Type", "text/plain")], b"not found\n")
        return None

    async def ws_handler(self, ws):
        route = ws.path.split("?", 1)[0]
        host = self.sni_of(ws)
        try:
            if route == "/v3/wsconnect":
                await self.twilsock(ws, host)
            elif route == "/signal":
                await self.voice(ws)
            else:
                await self.video(ws)
        except websockets.exceptions.ConnectionClosed:
            pass

    @staticmethod
    def sni_of(ws):
        sslobj = ws.transport.get_extra_info("ssl_object") if ws.transport else None
        return getattr(sslobj, "tokshim_sni", None) if sslobj is not None else None

    # ---- Twilsock ------------------------------------------------------------
    @staticmethod
    def tw_parse(data):
        """One Twilsock message: returns (header dict, payload bytes) or raises ValueError."""
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        m = re.match(rb"^TWILSOCK V3\.0 (\d{1,6})\r\n", raw)
        if not m:
            raise ValueError("not a Twilsock message")
        n = int(m.group(1))
        start = m.end()
        hdr_raw = raw[start:start + n]
        if len(hdr_raw) != n:
            raise ValueError("header shorter than announced")
        header = json.loads(hdr_raw.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
        rest = raw[start + n:]
        if not rest.startswith(b"\r\n"):
            raise ValueError("no CRLF after the header")
        return header, rest[2:]

    @staticmethod
    def tw_frame(header, payload=b"", binary=False):
        hdr = json.dumps(header, separators=(",", ":")).encode()
        raw = b"TWILSOCK V3.0 %d\r\n" % len(hdr) + hdr + b"\r\n" + payload
        return raw if binary else raw.decode("utf-8")

    async def tw_reply(self, ws, binary, mid, code, error=None, payload=b""):
        if code == 200:
            status = {"code": 200, "status": "OK"}
        else:
            status = {"code": code, "status": {401: "UNAUTHORIZED", 406: "NOT_ACCEPTABLE"}.get(code, "ERROR"),
                      "errorCode": error, "description": TEXTS.get(error, "Error")}
        header = {"method": "reply", "id": mid, "status": status, "payload_size": len(payload)}
        if payload:
            header["payload_type"] = "application/json"
        await ws.send(self.tw_frame(header, payload, binary))

    async def tw_upstream(self, ws, binary, mid, scope, req):
        """A request to a service behind Twilsock (method "message" with
        http_request {host, path, method, params, headers}): Twilsock's reply
        is 200 OK, with the service's HTTP status in http_status, its headers
        in http_headers and its body as the payload (what twilsock's
        upstream code reads)."""
        code, body = self.upstream(scope, str(req.get("host", "")), str(req.get("path", "")),
                                   str(req.get("method", "GET")).upper())
        log("twilsock upstream %s %s%s: %d" % (str(req.get("method"))[:8], str(req.get("host"))[:64],
                                                str(req.get("path"))[:96], code))
        payload = json.dumps(body).encode()
        header = {"method": "reply", "id": mid, "status": {"code": 200, "status": "OK"},
                  "http_status": {"code": code, "status": http.HTTPStatus(code).phrase.upper().replace(" ", "_")},
                  "http_headers": {"Content-Type": "application/json"},
                  "payload_type": "application/json", "payload_size": len(payload)}
        await ws.send(self.tw_frame(header, payload, binary))

    def upstream(self, scope, host, path, method):
        """(HTTP status, JSON body) of the service a Twilsock upstream request
        names: the Conversations client's configuration (aim.*), which is what
        its initialisation needs; no other resource exists here (404)."""
        if host.startswith("aim.") and path == "/Client/v2/Configuration" and method == "GET":
            region = host.split(".")[1] if host.count(".") >= 3 else "us1"
            svc = "https://aim.%s.twilio.com/Client/v2/Services/%s" % (region, scope.get("chat"))
            me = "%s/Users/%s" % (svc, scope.get("identity"))
            return 200, {
                "identity": scope.get("identity"),
                "links": {"my_conversations": me + "/Conversations", "conversations": svc + "/Conversations",
                          "users": svc + "/Users", "current_user": me, "typing": svc + "/Typing",
                          "media_service": "https://mcs.%s.twilio.com/v1/Services/%s/Media" % (region, scope.get("chat")),
                          "media_set_service": "https://mcs.%s.twilio.com/v1/Services/%s/MediaSet" % (region, scope.get("chat")),
                          "messages_receipts": svc + "/Conversations/%s/Messages/%s/Receipts"},
                "options": {"consumption_report_interval": "PT10S", "http_cache_interval": "PT5S",
                            "reachability_enabled": False, "user_infos_to_subscribe": 100,
                            "media_attachments_count_limit": 10, "media_attachment_size_limit_in_mb": 100,
                            "media_attachments_total_size_limit_in_mb": 100,
                            "email_histories_allowed_mime_types": [], "email_bodies_allowed_mime_types": []},
                "sync_objects": {"my_conversations": "my_conversations", "my_user_info": "my_user_info"}}
        if host.startswith("aim.") and method == "GET" and path.split("?", 1)[0] == \
                "/Client/v2/Services/%s/Users/%s/Conversations" % (scope.get("chat"), scope.get("identity")):
            return 200, {"conversations": [], "meta": {"next_token": None, "previous_token": None}}
        if host.startswith("cds.") and path.startswith("/v3/Maps/") and method == "GET":
            return self.sync_map(host, path, scope)
        if host.startswith("cds.") and path == "/v4/Subscriptions" and method == "POST":
            # accepted; nothing changes here, so no event is ever delivered
            # (and none is due within the tests' runs)
            return 202, {"estimated_delivery_in_ms": 30000, "max_batch_size": 100, "ttl_in_s": 86400}
        return 404, {"status": 404, "code": 20404, "message": "The requested resource %s was not found" % path[:64],
                     "more_info": "https://www.twilio.com/docs/errors/20404"}

    SYNC_MAPS = {"my_conversations": {},
                 "my_user_info": {"friendlyName": {"value": None}, "attributes": {"value": "{}"}}}

    def sync_map(self, host, path, scope):
        """Sync's maps the Conversations client opens at start: its
        conversations (none) and its user's info (friendlyName, attributes)."""
        parts = path.split("?", 1)[0].split("/")  # "", v3, Maps, name[, Items[, key]]
        name = parts[3] if len(parts) > 3 else ""
        items = self.SYNC_MAPS.get(name)
        if items is None:
            return 404, {"status": 404, "code": 54100, "message": "Map not found"}
        url = "https://%s/v3/Maps/%s" % (host, name)
        when = iso(self.now())

        def item(k):
            return {"key": k, "url": url + "/Items/" + k, "revision": "0", "last_event_id": 0,
                    "date_updated": when, "date_expires": None, "data": items[k]}
        if len(parts) == 4:
            return 200, {"sid": "MP" + hashlib.md5(name.encode()).hexdigest(), "unique_name": name, "url": url,
                         "revision": "0", "last_event_id": 0, "date_updated": when, "date_expires": None,
                         "links": {"items": url + "/Items"}}
        if len(parts) == 5 and parts[4] == "Items":
            return 200, {"items": [item(k) for k in sorted(items)],
                         "meta": {"previous_token": None, "next_token": None}}
        if len(parts) == 6 and parts[4] == "Items" and parts[5] in items:
            return 200, item(parts[5])
        return 404, {"status": 404, "code": 54201, "message": "Item not found"}

    def tw_scope(self, claims):
        g = claims.get("grants", {})
        return {"identity": g.get("identity"), "sub": claims.get("sub"),
                "chat": Validator.service(g, "chat"), "data_sync": Validator.service(g, "data_sync")}

    async def twilsock(self, ws, host):
        region = None
        m = re.match(r"^tsock\.([a-z]{2}\d)\.twilio\.com$", host or "")
        if m:
            region = m.group(1)
        scope = None
        expiry = None
        try:
            async for data in ws:
                binary = not isinstance(data, str)
                try:
                    header, _payload = self.tw_parse(data)
                except (ValueError, UnicodeDecodeError) as e:
                    log("twilsock message refused 51214: %s" % e)
                    await self.tw_reply(ws, binary, None, 406, 51214)
                    continue
                method = header.get("method")
                mid = header.get("id")
                if method in ("init", "update"):
                    if method == "update" and scope is None:
                        log("twilsock update refused 51214: no init before it")
                        await self.tw_reply(ws, binary, mid, 406, 51214)
                        continue
                    try:
                        claims = self.validator.check(header.get("token"), "twilsock", region)
                        new_scope = self.tw_scope(claims)
                        if method == "update" and new_scope != scope:
                            diff = [k for k in scope if scope[k] != new_scope[k]]
                            raise Reject(51215, "update token is for another %s than init's" % "/".join(diff))
                    except Reject as r:
                        log("twilsock %s rejected %d %s" % (method, r.code, r.why))
                        await self.delay()
                        await self.tw_reply(ws, binary, mid, 401, r.code)
                        if method == "init":
                            await ws.close(1000, "unauthorized")
                            return
                        continue
                    log("twilsock %s accepted identity=%s exp=%s" % (method, new_scope["identity"], iso(claims["exp"])))
                    scope = new_scope
                    await self.delay()
                    body = b""
                    if method == "init":
                        body = json.dumps({"continuation_token": "CT" + rnd.token_hex(8),
                                           "offline_storage": {}}).encode()
                    await self.tw_reply(ws, binary, mid, 200, payload=body)
                    if expiry:
                        expiry.cancel()
                    expiry = asyncio.ensure_future(self.tw_expiry(ws, binary, claims["exp"]))
                elif scope is None:
                    log("twilsock %s refused 51214: no init yet" % str(method)[:32])
                    await self.tw_reply(ws, binary, mid, 406, 51214)
                elif method == "reply":
                    continue  # the client's answer to a server message is not answered
                elif method == "message" and isinstance(header.get("http_request"), dict):
                    await self.tw_upstream(ws, binary, mid, scope, header["http_request"])
                else:
                    await self.tw_reply(ws, binary, mid, 200)
        finally:
            if expiry:
                expiry.cancel()

    async def tw_expiry(self, ws, binary, exp):
        """Twilsock warns 3 minutes before the token expires and closes at expiry."""
        warn_in = exp - 180 - self.now()
        if warn_in > 0 or self.args.warn_then_silence:
            await asyncio.sleep(max(warn_in, 0))
            log("twilsock client_update token_about_to_expire (exp %s)" % iso(exp))
            await ws.send(self.tw_frame({"method": "client_update", "id": sid("TM"),
                                         "client_update_type": "token_about_to_expire",
                                         "payload_size": 0}, binary=binary))
        if self.args.warn_then_silence:
            # the app is expected to send an update; the server says nothing more
            while True:
                await asyncio.sleep(1)
                await ws.ping()
        close_in = exp - self.now()
        if close_in > 0:
            await asyncio.sleep(close_in)
        log("twilsock close 51207: token expired at %s" % iso(exp))
        await ws.send(self.tw_frame({"method": "close", "id": sid("TM"),
                                     "status": {"code": 410, "status": "TOKEN_EXPIRED", "errorCode": 51207,
                                                "description": "Token expired"},
                                     "payload_size": 0}, binary=binary))
        await ws.close(1000, "token expired")

    # ---- Voice ---------------------------------------------------------------
    # The Voice SDK's signalling (@twilio/voice-sdk's pstream and Device):
    # `listen` carries the token; on a good one the server says `connected`
    # with what Device reads from it (region, edge, home, token.identity and
    # token.ttl, the seconds it lasts, from which it times tokenWillExpire), and
    # answers the `register` that follows with `ready` (the Device is then
    # registered). A `register` before a listen was accepted earns a 31204
    # (the SDK's CHANGELOG, 2.18: registrations replayed before the server
    # validated the token were rejected with 31204). A bad token: an `error`
    # with payload.error.code, then the server closes.
    async def voice(self, ws):
        accepted = False
        async for data in ws:
            if data in ("\n", b"\n"):
                await ws.send("\n")  # heartbeat
                continue
            try:
                msg = json.loads(data)
            except ValueError:
                log("voice message refused: not JSON")
                continue
            if not isinstance(msg, dict):
                continue
            if msg.get("type") == "register":
                if accepted:
                    log("voice register: ready")
                    await ws.send(json.dumps({"type": "ready", "version": "1.6", "payload": {}}))
                else:
                    log("voice register before an accepted listen: 31204")
                    await ws.send(json.dumps({"type": "error", "payload": {"error": {
                        "code": 31204, "message": VOICE_TEXTS[31204]}}}))
                continue
            if msg.get("type") != "listen":
                continue
            payload = msg.get("payload") if isinstance(msg.get("payload"), dict) else {}
            try:
                claims = self.validator.check(payload.get("token"), "voice")
            except Reject as r:
                code = voice_code(r.code) if r.code not in VOICE_TEXTS else r.code
                log("voice listen rejected %d %s" % (code, r.why))
                await self.delay()
                await ws.send(json.dumps({"type": "error", "payload": {"error": {
                    "code": code, "message": VOICE_TEXTS[code]}}}))
                await ws.close(1000, "unauthorized")
                return
            identity = claims["grants"].get("identity")
            log("voice listen accepted identity=%s exp=%s" % (identity, iso(claims["exp"])))
            accepted = True
            await self.delay()
            # ttl: the token's lifetime as signed (exp - nbf, else - iat), so
            # that the answer is the same for the same token whenever it
            # comes (tests compare runs); a token minted just before it
            # connects has that much left
            start = claims.get("nbf", claims.get("iat"))
            ttl = int(claims["exp"] - start) if is_num(start) else int(claims["exp"] - self.now())
            await ws.send(json.dumps({"type": "connected", "version": "1.6", "payload": {
                "region": "gll", "edge": "roaming", "home": "gll",
                "token": {"identity": identity, "ttl": max(0, ttl)}}}))

    # ---- Video ---------------------------------------------------------------
    async def video(self, ws):
        async for data in ws:
            try:
                msg = json.loads(data)
            except ValueError:
                log("video message refused: not JSON")
                continue
            if not isinstance(msg, dict):
                continue
            body = msg.get("body") if isinstance(msg.get("body"), dict) else {}
            if msg.get("type") != "hello" and body.get("type") != "connect":
                continue
            try:
                claims = self.validator.check(body.get("token"), "video")
            except Reject as r:
                log("video connect rejected %d %s" % (r.code, r.why))
                await self.delay()
                await ws.send(json.dumps({"type": "error", "code": r.code, "message": TEXTS.get(r.code, "Error")}))
                await ws.close(1000, "unauthorized")
                return
            g = claims["grants"]
            room = g["video"].get("room") or body.get("name") or "demo"
            log("video connect accepted identity=%s room=%s" % (g.get("identity"), room))
            await self.delay()
            await ws.send(json.dumps({"id": msg.get("id"), "type": "msg", "body": {
                "type": "connected", "sid": sid("RM"), "name": room,
                "participant": {"sid": sid("PA"), "identity": g.get("identity")}}}))

    # ---- HTTP(S) -------------------------------------------------------------
    async def http_handler(self, reader, writer):
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
                ConnectionError, ssl.SSLError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        request = lines[0].split(" ")
        target = request[1] if len(request) > 1 else "/"
        token = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "x-twilio-token":
                token = value.strip()
        status, body = self.http_verdict("http", target, token)
        await self.delay()
        data = json.dumps(body).encode()
        reason = "OK" if status == 200 else "Unauthorized"
        writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n" % (status, reason.encode(), len(data)) + data)
        try:
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass

    def http_verdict(self, what, target, token):
        """(status, JSON body) for a request carrying token (None: no header)."""
        try:
            if token is None:
                raise Reject(20101, "no X-Twilio-Token header")
            claims = self.validator.check(token, None)
            log("%s %s accepted identity=%s" % (what, target[:64], claims["grants"].get("identity")))
            return 200, {"status": "ok"}
        except Reject as r:
            log("%s %s rejected %d %s" % (what, target[:64], r.code, r.why))
            return 401, {"code": r.code, "message": TEXTS.get(r.code, "Error"), "status": 401,
                         "more_info": "https://www.twilio.com/docs/errors/%d" % r.code}

    # ---- HTTP/2 (python3-h2: the framing and HPACK) ---------------------------
    async def h2_handler(self, reader, writer):
        import h2.config
        import h2.connection
        import h2.events
        import h2.exceptions
        conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        requests = {}
        try:
            for _ in range(10000):
                data = await asyncio.wait_for(reader.read(65536), 10)
                if not data:
                    break
                done = False
                ended = []
                for ev in conn.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        requests[ev.stream_id] = dict(ev.headers)
                        if ev.stream_ended is not None:
                            ended.append(ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded):
                        if ev.stream_id in requests and ev.stream_id not in ended:
                            ended.append(ev.stream_id)
                    elif isinstance(ev, h2.events.DataReceived):
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.ConnectionTerminated):
                        done = True
                for sid_ in ended:
                    hd = requests.pop(sid_)
                    status, body = self.http_verdict("h2", hd.get(":path", "/"), hd.get("x-twilio-token"))
                    await self.delay()
                    payload = json.dumps(body).encode()
                    conn.send_headers(sid_, [(":status", str(status)), ("content-type", "application/json"),
                                             ("content-length", str(len(payload)))])
                    conn.send_data(sid_, payload, end_stream=True)
                writer.write(conn.data_to_send())
                await writer.drain()
                if done:
                    break
        except (asyncio.TimeoutError, ConnectionError, ssl.SSLError, h2.exceptions.ProtocolError):
            pass
        try:
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass

    # ---- main ----------------------------------------------------------------
    def tls_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.args.cert, self.args.key)

        def sni(sslobj, name, _ctx):
            if name:
                try:
                    sslobj.tokshim_sni = name
                except AttributeError:
                    pass
        ctx.sni_callback = sni
        return ctx

    async def run(self):
        a = self.args
        wanted = [(n, getattr(a, n.replace("-", "_"))) for n in
                  ("twilsock", "voice", "video", "ws-plain", "https", "http", "h2", "h2c")]
        wanted = [(n, p) for n, p in wanted if p is not None]
        if not wanted:
            log("nothing to serve: give at least one port option")
            return 2
        tls = None
        if any(n in ("twilsock", "voice", "video", "https", "h2") for n, _ in wanted):
            if not a.cert or not a.key:
                log("cannot serve TLS: --cert and --key are needed")
                return 2
            tls = self.tls_context()
        self.stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for s in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(s, self.stop.set)
        servers, ports = [], {}
        for name, port in wanted:
            use_tls = tls if name in ("twilsock", "voice", "video", "https") else None
            if name in ("h2", "h2c"):
                h2tls = None
                if name == "h2":
                    h2tls = self.tls_context()
                    h2tls.set_alpn_protocols(["h2"])
                srv = await asyncio.start_server(self.h2_handler, "127.0.0.1", port, ssl=h2tls)
            elif name in ("https", "http"):
                srv = await asyncio.start_server(self.http_handler, "127.0.0.1", port, ssl=use_tls)
            else:
                srv = await websockets.server.serve(
                    self.ws_handler, "127.0.0.1", port, ssl=use_tls,
                    process_request=self.process_request,
                    compression=None if a.no_deflate else "deflate",
                    max_size=1 << 20, ping_interval=None, close_timeout=1)
            servers.append(srv)
            ports[name] = srv.sockets[0].getsockname()[1]
        sys.stdout.write(json.dumps(ports) + "\nready\n")
        sys.stdout.flush()
        log("listening on 127.0.0.1: %s (pid %d)" % (", ".join("%s %d" % kv for kv in ports.items()), os.getpid()))
        try:
            if a.lifetime > 0:
                await asyncio.wait_for(self.stop.wait(), a.lifetime)
            else:
                await self.stop.wait()
        except asyncio.TimeoutError:
            log("lifetime of %gs over" % a.lifetime)
        for srv in servers:
            srv.close()
        for srv in servers:
            try:
                await asyncio.wait_for(srv.wait_closed(), 3)
            except asyncio.TimeoutError:
                pass
        log("stopped")
        return 0


def main(argv=None):
    p = argparse.ArgumentParser(description="Local endpoints that speak like Twilio's (tokshim tests).")
    for name in ("twilsock", "voice", "video", "ws-plain", "https", "http", "h2", "h2c"):
        p.add_argument("--" + name, type=int, metavar="PORT", help="serve %s on PORT (0: any free port)" % name)
    p.add_argument("--cert", help="server certificate (PEM), for the TLS ports")
    p.add_argument("--key", help="server private key (PEM)")
    p.add_argument("--secret", action="append", metavar="[SKxxx:]SECRET",
                   help="API Key Secret the server verifies signatures with (repeatable); "
                        "without any, signatures are not checked")
    p.add_argument("--account", metavar="ACxxx", help="the only Account SID accepted")
    p.add_argument("--region", default="us1", help="the region this server is in (default us1)")
    p.add_argument("--skew", type=int, default=30, help="clock tolerance, seconds (default 30)")
    p.add_argument("--now", type=int, metavar="UNIX", help="pretend the clock starts at UNIX")
    p.add_argument("--reply-delay", type=float, default=0.0, metavar="SECONDS",
                   help="wait before answering a token-carrying message")
    p.add_argument("--force-code", type=int, metavar="CODE",
                   help="reject every token with CODE (e.g. 20103: a key the server does not know)")
    p.add_argument("--warn-then-silence", action="store_true",
                   help="Twilsock: warn token_about_to_expire after an accepted init, then only ping")
    p.add_argument("--no-deflate", action="store_true", help="WebSocket without permessage-deflate")
    p.add_argument("--lifetime", type=float, default=0.0, metavar="SECONDS",
                   help="exit after SECONDS (0: run until SIGTERM)")
    args = p.parse_args(argv)
    for name in ("twilsock", "voice", "video", "ws_plain", "https", "http", "h2", "h2c"):
        v = getattr(args, name)
        if v is not None and not 0 <= v <= 65535:
            p.error("--%s: port out of range" % name.replace("_", "-"))
    try:
        return asyncio.run(TwilioLike(args).run())
    except (OSError, ssl.SSLError) as e:
        log("cannot start: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
