"""Answers Cloudflare's TURN credentials API for Signal-Server with coturn credentials.

Signal-Server (CloudflareTurnCredentialsManager) POSTs {"ttl": seconds} with
"Authorization: Bearer <turn.cloudflare.apiToken>" and expects 201 with
{"iceServers": {"urls": [...], "username": ..., "credential": ...}}. The credentials
are coturn's TURN REST API ones (use-auth-secret): username "<expiry>:sweetlies",
credential base64(HMAC-SHA1(static-auth-secret, username)).
"""

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_TTL_SECONDS = 48 * 3600
BUNDLE_KEY = "turn.cloudflare.apiToken"


def read_api_token(bundle_path):
    """The token from the flat YAML secrets bundle (a plain or quoted scalar)."""
    with open(bundle_path, encoding="utf-8") as bundle:
        for line in bundle:
            key, sep, value = line.partition(":")
            if sep and key.strip() == BUNDLE_KEY:
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
                if value:
                    return value
    sys.exit(f"turn-shim: {bundle_path} has no non-empty {BUNDLE_KEY}")


def credentials(secret, ttl, now):
    username = f"{int(now) + ttl}:sweetlies"
    digest = hmac.new(secret, username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def make_handler(api_token, secret, urls):
    expected = f"Bearer {api_token}".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            given = self.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return self.reply(401, {"error": "bad token"})
            if not self.path.endswith("/credentials/generate"):
                return self.reply(404, {"error": "unknown path"})
            try:
                length = int(self.headers.get("Content-Length", "0"))
                ttl = int(json.loads(self.rfile.read(length) or b"{}")["ttl"])
            except (ValueError, KeyError, TypeError):
                return self.reply(400, {"error": "body must be {\"ttl\": seconds}"})
            if ttl <= 0:
                return self.reply(400, {"error": "ttl must be positive"})
            username, credential = credentials(secret, min(ttl, MAX_TTL_SECONDS), time.time())
            ice = {"urls": urls, "username": username, "credential": credential}
            return self.reply(201, {"iceServers": ice})

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            # Never log request details: the Authorization header is a secret.
            sys.stderr.write(f"turn-shim: {self.command} {args[1] if len(args) > 1 else ''}\n")

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen-host", default="127.0.0.1")
    parser.add_argument("--listen-port", type=int, required=True)
    parser.add_argument("--secrets-bundle", required=True, help="Signal-Server secrets bundle")
    parser.add_argument("--static-auth-secret-file", required=True, help="coturn static-auth-secret")
    parser.add_argument("--url", action="append", required=True, help="TURN URL to hand out")
    args = parser.parse_args()

    api_token = read_api_token(args.secrets_bundle)
    with open(args.static_auth_secret_file, "rb") as secret_file:
        secret = secret_file.read().strip()
    if not secret:
        sys.exit(f"turn-shim: {args.static_auth_secret_file} is empty")

    server = ThreadingHTTPServer((args.listen_host, args.listen_port), make_handler(api_token, secret, args.url))
    server.serve_forever()


if __name__ == "__main__":
    main()
