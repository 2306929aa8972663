"""docker/Dockerfile, replayed without a container engine: what it COPYs, into a clean directory;
its docker/install.sh RUN lines there, into a fresh virtualenv; then its CMD with its ENV (as an
unprivileged user when the tests run as root, as the image does), until /readyz answers and its
HEALTHCHECK passes. A package it forgets to COPY, or a broken install step, fails here."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import REPO, free_port

DOCKERFILE = REPO / "docker/Dockerfile"
# The system's Python, like the image's: not a pyenv or virtualenv one, which may live where the
# image's user can't reach it (under /root).
SYSTEM_PYTHON = shutil.which("python3", path="/usr/local/bin:/usr/bin") or sys.executable
BUILD_ONLY = {"PIP_NO_CACHE_DIR"}  # kept out of the replayed RUN lines: pip's cache makes CI faster


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions in order, as (keyword, arguments), continuation lines joined."""
    lines = [line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(keyword.upper(), arguments.strip()) for keyword, _, arguments in
            (line.strip().partition(" ") for line in joined.splitlines() if line.strip())]


def dockerignored(patterns: list[str], relative: str) -> bool:
    """Whether .dockerignore leaves `relative` (or a folder it is in) out of the build context."""
    parts = relative.split("/")
    return any(fnmatch.fnmatchcase("/".join(parts[:n]), pattern)
               for n in range(1, len(parts) + 1) for pattern in patterns)


def copy(arguments: str, workdir: str, app: Path) -> None:
    """A COPY from the repository (the build context) into `app`, which stands in for WORKDIR."""
    *sources, destination = shlex.split(arguments)
    assert not any(source.startswith("--") for source in sources), f"COPY flags are not replayed: {arguments}"
    target = Path(workdir, destination)
    assert target.is_relative_to(workdir), f"COPY outside WORKDIR {workdir}: {arguments}"
    target = app / target.relative_to(workdir)
    patterns = (REPO / ".dockerignore").read_text().split()
    assert not any(pattern.startswith("!") for pattern in patterns), "exceptions in .dockerignore are not replayed"

    def ignore(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(REPO)
        return {name for name in names if dockerignored(patterns, (relative / name).as_posix())}

    for source in sources:
        assert not dockerignored(patterns, source.rstrip("/")), f".dockerignore leaves out {source}"
        if (REPO / source).is_dir():
            shutil.copytree(REPO / source, target, ignore=ignore, dirs_exist_ok=True)
        else:
            into = target / Path(source).name if destination.endswith("/") or len(sources) > 1 else target
            into.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / source, into)


def image_user(dockerfile: str) -> tuple[int, int]:
    """The uid and gid the Dockerfile creates its runtime user with."""
    uid, gid = re.search(r"--uid (\d+)", dockerfile), re.search(r"--gid (\d+)", dockerfile)
    assert uid and gid, "docker/Dockerfile creates its user with a numeric --uid and --gid"
    return int(uid[1]), int(gid[1])


def run_step(command: str, cwd: Path, env: dict[str, str]) -> None:
    """One RUN line, through /bin/sh -c as Docker runs it; its output is the failure message."""
    done = subprocess.run(["/bin/sh", "-c", command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=540)
    assert done.returncode == 0, f"RUN {command} failed ({done.returncode}):\n{done.stdout[-6000:]}"


@pytest.fixture
def clean_dir() -> Iterator[Path]:
    """A fresh directory any user can read (pytest's tmp_path is private to the one running it)."""
    path = Path(tempfile.mkdtemp(prefix="dropin-image-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class Image:
    """What the replayed Dockerfile leaves for running the image: its ENV, CMD and HEALTHCHECK."""

    env: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)


def replay(dockerfile: str, app: Path, build_env: dict[str, str]) -> Image:
    """The Dockerfile's COPY lines into `app` (for /app) and its docker/install.sh RUN lines there,
    in order, each with `build_env` and the ENV so far (not BUILD_ONLY); the rest is image-only."""
    image, workdir, steps = Image(), "/", 0
    for keyword, arguments in instructions(dockerfile):
        if keyword == "WORKDIR":
            workdir = str(Path(workdir, arguments))
        elif keyword == "ENV":
            image.env |= dict(pair.split("=", 1) for pair in shlex.split(arguments))
        elif keyword == "COPY":
            copy(arguments, workdir, app)
        elif keyword == "RUN" and "docker/install.sh" in arguments:  # not the user creation
            assert workdir == "/app", "install.sh runs in /app, where the source is"
            run_step(arguments, app, build_env | {k: v for k, v in image.env.items() if k not in BUILD_ONLY})
            steps += 1
        elif keyword == "CMD":
            image.command = json.loads(arguments)
        elif keyword == "HEALTHCHECK":
            image.healthcheck = json.loads(arguments.split(" CMD ", 1)[1])
    assert steps and image.command and image.healthcheck, "install.sh RUN lines, a CMD and a HEALTHCHECK"
    return image


@pytest.mark.timeout(900)
def test_the_image_recipe_installs_a_server_that_is_ready(clean_dir: Path) -> None:
    dockerfile = DOCKERFILE.read_text()
    app, data, venv = clean_dir / "app", clean_dir / "data", clean_dir / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True, timeout=120)
    base = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("DROPIN_")}
    base |= {"PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "PYTHON": str(venv / "bin/python")}
    image = replay(dockerfile, app, base)

    port = free_port()
    data.mkdir()  # the image's /data volume
    unprivileged: dict[str, Any] = {}
    if os.geteuid() == 0:  # as the image runs: a user that owns the data dir and nothing else
        uid, gid = image_user(dockerfile)
        os.chown(data, uid, gid)
        unprivileged = {"user": uid, "group": gid, "extra_groups": []}
    env = base | image.env | {"DROPIN_DATA_DIR": str(data), "DROPIN_PORT": str(port), "HOME": str(data)}
    log = clean_dir / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(image.command, cwd=app, env=env, stdout=out, stderr=subprocess.STDOUT, **unprivileged)
    try:
        assert wait_for_readyz(f"http://127.0.0.1:{port}", server, log).json() == {"ready": True, "reason": None}
        assert (data / "redis").is_dir(), "with no REDIS_URL, it runs its own Redis in the data dir"
        done = subprocess.run(image.healthcheck, env=env, capture_output=True, text=True, timeout=10, **unprivileged)
        assert done.returncode == 0, f"the HEALTHCHECK fails: {done.stderr}"
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and page.text == (REPO / "web/index.html").read_text(), "/ serves web/"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            stopped = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert stopped == 0, f"the server did not stop cleanly:\n{log.read_text()}"


def wait_for_readyz(base_url: str, server: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    """The first 200 from /readyz, within 30 s; the server's log if it exits or never gets ready."""
    deadline = time.monotonic() + 30
    while True:
        try:
            response = httpx.get(f"{base_url}/readyz", timeout=1)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the installed server did not get ready:\n{log.read_text()}")
        time.sleep(0.1)
