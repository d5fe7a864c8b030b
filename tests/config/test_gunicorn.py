"""config/gunicorn.conf.py as gunicorn itself loads it (`--print-config`)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def gunicorn_config(**env: str) -> dict[str, str]:
    """The settings gunicorn would run with, loaded from our config file by gunicorn."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    clean.update(env)
    result = subprocess.run(  # noqa: S603 - our own gunicorn and fixed arguments
        [str(GUNICORN), "-c", "config/gunicorn.conf.py", "--print-config", "config.wsgi"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    pairs = (line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs}


def test_two_instances_on_one_host_share_no_control_socket():
    first, second = gunicorn_config(PORT="8001"), gunicorn_config(PORT="8002")

    assert first["bind"] != second["bind"]
    # gunicorn's default is one path per OS user: the second instance would take it over
    # and stopping either would delete the other's. Off unless a path is given.
    assert first["control_socket_disable"] == second["control_socket_disable"] == "True"


@pytest.mark.parametrize("port", ["8001", "8002"])
def test_a_control_socket_is_opened_only_at_the_path_given(tmp_path, port):
    path = str(tmp_path / f"tollgate-{port}.ctl")

    config = gunicorn_config(PORT=port, GUNICORN_CONTROL_SOCKET=path)

    assert config["control_socket_disable"] == "False"
    assert config["control_socket"] == path
