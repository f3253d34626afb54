#!/usr/bin/env python3
"""TEST DOUBLE of a distribution (registry:2) pull-through cache: the Registry API's base endpoint and an
empty catalog, on REGISTRY_HTTP_ADDR (":5000"), as the real image reads it. It never pulls anything."""

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path == "/v2/":
            self._reply(200, {})
        elif path == "/v2/_catalog":
            self._reply(200, {"repositories": []})
        else:
            self._reply(404, {"errors": [{"code": "NOT_FOUND", "message": "registry double: not implemented"}]})


def main():
    # PID 1 in the container: without a handler, SIGTERM (docker stop) would be ignored for the whole timeout.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = int(os.environ.get("REGISTRY_HTTP_ADDR", ":5000").rpartition(":")[2])
    print("registry double: proxy of %s on port %d" % (os.environ.get("REGISTRY_PROXY_REMOTEURL", "?"), port), flush=True)
    HTTPServer(("", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
