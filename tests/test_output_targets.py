"""What ``-o`` may replace (issue 23, item 1): a regular file or a new name, atomically;
through a symlink, its target (the link stays a link); a device, a FIFO or ``/dev/stdout``
is written through and is still what it was afterwards. Each test works in a temporary
directory: the device node is made there with ``os.mknod`` (root only, as in CI)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from helpers import env

from syncdemo.cli.output import atomic_write

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX devices, FIFOs and links")
ROOT = pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() != 0, reason="os.mknod of a device needs root"
)
RUN = ["run", "counter", "-n", "50", "--trials", "1", "--seed", "1", "-q", "-f", "json"]
Invoke = Callable[..., Result]


def null_device(folder: Path) -> Path:
    """A copy of /dev/null (character device 1, 3) in ``folder``."""
    node = folder / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return node


def leftovers(folder: Path, *expected: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in expected)


@ROOT
@pytest.mark.timeout(60)
def test_a_device_stays_a_device(invoke: Invoke, tmp_path: Path) -> None:
    node = null_device(tmp_path)
    before = os.lstat(node)
    result = invoke(*RUN, "-o", str(node))
    assert result.exit_code == 0, result.output
    after = os.lstat(node)
    assert stat.S_ISCHR(after.st_mode), "the device was replaced by a regular file"
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert leftovers(tmp_path, "null") == []


@ROOT
@pytest.mark.timeout(60)
def test_a_symlink_to_a_device_leaves_both(invoke: Invoke, tmp_path: Path) -> None:
    node = null_device(tmp_path)
    link = tmp_path / "out.json"
    link.symlink_to(node)
    result = invoke(*RUN, "-o", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(node)
    assert stat.S_ISCHR(os.lstat(node).st_mode)


@POSIX
@pytest.mark.timeout(60)
def test_a_symlink_stays_a_link_and_its_target_gets_the_data(
    invoke: Invoke, tmp_path: Path
) -> None:
    target = tmp_path / "real.json"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to("real.json")  # relative, as people make them
    result = invoke(*RUN, "-o", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert json.loads(target.read_text(encoding="utf-8"))["scenario"] == "counter"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640, "the target keeps its mode"
    assert leftovers(tmp_path, "real.json", "link.json") == []


@POSIX
@pytest.mark.timeout(60)
def test_a_dangling_symlink_gets_its_target_created(invoke: Invoke, tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "new.json")
    result = invoke(*RUN, "-o", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    assert json.loads((tmp_path / "new.json").read_text(encoding="utf-8"))["trials"]


@POSIX
@pytest.mark.timeout(60)
def test_a_fifo_is_written_through(invoke: Invoke, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = invoke(*RUN, "-o", str(fifo))
    reader.join(30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert json.loads(got[0])["scenario"] == "counter"
    assert leftovers(tmp_path, "pipe") == []


@pytest.mark.timeout(60)
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_dev_stdout_redirected_to_a_file_keeps_the_file(tmp_path: Path) -> None:
    """``syncdemo ... -o /dev/stdout > out.json``: the data lands in out.json, the file
    the shell opened (replacing /proc/self/fd/1's target would leave it empty). The link
    is a copy of /dev/stdout in the temporary folder: code that replaced what -o names
    must not get to replace the system's."""
    stdout = tmp_path / "stdout"
    stdout.symlink_to("/proc/self/fd/1")  # what /dev/stdout is on Linux
    out = tmp_path / "out.json"
    with out.open("w") as handle:
        done = subprocess.run(
            [sys.executable, "-m", "syncdemo", *RUN, "-o", str(stdout)],
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
            timeout=60,
            check=False,
        )
        inode = os.fstat(handle.fileno()).st_ino
    assert done.returncode == 0, done.stderr
    assert stdout.is_symlink() and os.readlink(stdout) == "/proc/self/fd/1"
    assert out.stat().st_ino == inode, "the shell's file was replaced"
    assert json.loads(out.read_text(encoding="utf-8"))["scenario"] == "counter"
    assert leftovers(tmp_path, "out.json", "stdout") == []


@POSIX
def test_a_regular_file_is_still_replaced_atomically(tmp_path: Path) -> None:
    """The old file's inode is left alone (a reader holding it sees the old text whole)."""
    target = tmp_path / "data.json"
    target.write_text("old\n", encoding="utf-8")
    with target.open(encoding="utf-8") as reader:
        atomic_write(target, "new\n")
        assert reader.read() == "old\n"
    assert target.read_text(encoding="utf-8") == "new\n"
    assert leftovers(tmp_path, "data.json") == []
