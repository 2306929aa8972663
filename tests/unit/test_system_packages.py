"""`make test` sets the machine up itself (tests/system-packages.sh); where it may not install,
it says in one line what to install, and stops."""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "system-packages.sh"


def test_without_root_or_sudo_it_names_the_missing_packages_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "id").write_text("#!/bin/sh\necho 1000\n")  # not root; and no sudo, apt-get, node, ...
    (tmp_path / "id").chmod(0o755)
    done = subprocess.run(["/bin/bash", str(SCRIPT)], env={"PATH": str(tmp_path)}, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("make test needs these packages first: apt-get install ")
    assert {"nodejs", "npm", "coturn", "caddy", "redis-server", "gcc", "python3-venv"} <= set(line.split())
