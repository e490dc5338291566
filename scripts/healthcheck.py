"""Container health check: GET a URL; healthy when it answers with a status below 500.

Usage: python scripts/healthcheck.py http://127.0.0.1:8000/health/ [timeout_s]
Standard library only, so the check runs in the app image without curl. A 401 (Flower behind
basic auth) still proves the process serves HTTP, which is what liveness asks.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: healthcheck.py URL [timeout_s]", file=sys.stderr)
        return 2
    url = sys.argv[1]
    if not url.startswith(("http://", "https://")):
        print(f"healthcheck: not an http(s) URL: {url}", file=sys.stderr)
        return 2
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1
    if status >= 500:
        print(f"healthcheck: {url}: HTTP {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
