#!/usr/bin/env python3
"""Exit 0 if URL answers HTTP with a status below 500 (used by the Docker health check)."""

import sys
import urllib.error
import urllib.request

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/"
try:
    with urllib.request.urlopen(url, timeout=5) as resp:
        status = resp.status
except urllib.error.HTTPError as exc:
    status = exc.code
except Exception as exc:  # connection refused, timeout...
    print(f"unhealthy: {exc}", file=sys.stderr)
    sys.exit(1)
sys.exit(0 if status < 500 else 1)
