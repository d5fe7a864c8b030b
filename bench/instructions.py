"""Instructions per request, by variant: a figure no neighbour on the machine can disturb.

Each variant runs in its own process under valgrind's callgrind, in-process through the
production settings' whole WSGI stack (as bench/stages.py does), one member. Counting is
switched on (`callgrind_control -i on`) only around the measured loop, after a warm-up,
so start-up, migrations and the first sight of the member are not in the figure.

    .venv/bin/python bench/instructions.py                 # bare, jwt, gated
    .venv/bin/python bench/instructions.py --drop CSPMiddleware   # without one middleware

The near cache's liveness is raised for the run: under valgrind a request takes ~50x
its real time, and with the default 100 ms nearly every request would renew its proof
with a real MGET, which no real worker serving this member does.
"""

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/ is on the path, not the project

from bench.run import ENV, say  # noqa: E402

VARIANTS = ("bare", "jwt", "gated")
WARM_UP = 500


def _measure(variant: str, requests: int, drop: list[str]) -> None:
    """The child: serve `requests` requests of `variant`, counted by callgrind."""
    os.environ.update(ENV)
    os.environ["REDIS_NEAR_CACHE_LIVENESS"] = "60"
    os.chdir(ROOT)
    from bench.population import prepare
    from bench.variants import SESSION_COOKIE

    [person] = prepare(1)
    from django.conf import settings

    if drop:
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not any(d in m for d in drop)]
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    cookie = {"bare": "", "jwt": f"jwt={person['jwt']}"}.get(
        variant, f"{SESSION_COOKIE}={person['session']}"
    )

    def loop(count: int) -> None:
        statuses: list[str] = []
        for _ in range(count):
            environ = {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": f"/bench/{variant}",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "8101",
                "HTTP_HOST": "127.0.0.1",
                "HTTP_COOKIE": cookie,
                "REMOTE_ADDR": "127.0.0.1",
                "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(b""),
                "wsgi.errors": sys.stderr,
            }
            response = handler(environ, lambda status, headers: statuses.append(status))
            b"".join(response)
            response.close()
            if not statuses.pop().startswith("200"):
                raise RuntimeError(f"/bench/{variant} did not answer 200")

    def counting(on: bool) -> None:
        flag = "on" if on else "off"
        subprocess.run(
            ["callgrind_control", "-i", flag, str(os.getpid())], check=True, capture_output=True
        )

    loop(WARM_UP)
    counting(True)
    loop(requests)
    counting(False)


def count(variant: str, requests: int, drop: list[str]) -> int:
    """Instructions per request of `variant`, from a callgrind child process."""
    with tempfile.TemporaryDirectory() as folder:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={folder}/out",
            sys.executable,
            __file__,
            "--child",
            variant,
            "--requests",
            str(requests),
            *(["--drop", ",".join(drop)] if drop else []),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise RuntimeError(f"callgrind run of {variant} failed:\n{done.stderr[-2000:]}")
        return int(found.group(1)) // requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--drop", default="", help="middleware to leave out (comma-separated)")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    drop = [name for name in args.drop.split(",") if name]
    if args.child:
        _measure(args.child, args.requests, drop)
        return 0
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        say("valgrind not found: install Debian's valgrind package (apt-get install valgrind).")
        return 1
    figures = {}
    for variant in VARIANTS:
        say(f"  {variant}: {args.requests} requests under callgrind ...")
        figures[variant] = count(variant, args.requests, drop)
    say(f"\nInstructions per request{' without ' + args.drop if drop else ''}:")
    for variant, figure in figures.items():
        say(
            f"  {variant:6} {figure:>10,}  {figures['bare'] / figure:5.2f}x bare (as req/s) "
            f"{figures['jwt'] / figure:5.2f}x jwt"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
