"""`python -m bench [ingest|nlp|api ...]`: run the named benchmarks (all by default) and print their results."""

import argparse
import importlib
import json
import os
import sys
import time

SUITES = ["ingest", "nlp", "nlp_models", "api", "intel"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suites", nargs="*", default=SUITES, choices=SUITES)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signalflow.settings.local")
    import django

    django.setup()
    results = {}
    for name in args.suites:
        module = importlib.import_module(f"bench.{name}")
        started = time.monotonic()
        print(f"== bench {name} ==", flush=True)
        results[name] = module.run(quick=args.quick)
        print(json.dumps(results[name], indent=2, default=str), flush=True)
        print(f"== {name} done in {time.monotonic() - started:.1f} s ==", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
