"""The end-to-end scripts' one token signer, independent of tokshim (Python's
hmac and json): sign(claims, secret[, header]) -> a compact JWT. The header
defaults to a Twilio Access Token's (HS256, cty twilio-fpa;v=1); its "alg"
picks HS256, HS384 or HS512. The scripts give every time in the claims
(a fixed clock), never today's date. lib.sh's e2e_init puts this directory
on PYTHONPATH: `from jwt_sign import sign, b64`."""
import base64
import hashlib
import hmac
import json

TWILIO_HEADER = {"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1"}
_HASH = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64(data):
    """unpadded base64url of bytes, as text"""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(claims, secret, header=None):
    h = dict(TWILIO_HEADER) if header is None else header
    si = b64(json.dumps(h).encode()) + "." + b64(json.dumps(claims).encode())
    mac = hmac.new(secret.encode(), si.encode(), _HASH.get(h.get("alg"), hashlib.sha256)).digest()
    return si + "." + b64(mac)
