#!/usr/bin/env python3
"""TEST DOUBLE of busybox wget, as far as `wget -q -O FILE URL` goes: exit 0 when URL answers 2xx, else 1."""

import sys
import urllib.request

args = sys.argv[1:]
url = args[-1]
out = args[args.index("-O") + 1] if "-O" in args else None
try:
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = resp.read()
except Exception as err:  # noqa: BLE001 (any failure is wget's exit status 1)
    print("wget: %s" % err, file=sys.stderr)
    sys.exit(1)
if out and out != "/dev/null":
    with open(out, "wb") as f:
        f.write(body)
