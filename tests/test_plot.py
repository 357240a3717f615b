"""--plot draws sweep and compare charts with matplotlib (the [plot] extra); without it,
--plot is a usage error that names the extra, before anything runs."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

Invoke = Callable[..., Result]
PNG = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG, "not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return width, height


def test_sweep_plot_writes_a_png(invoke: Invoke, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "chart.png"
    result = invoke(
        "sweep", "counter", "--sync", "lock", "--threads", "1,2,4", "-n", "500",
        "--trials", "1", "--plot", str(out), "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    width, height = png_size(out)
    assert width >= 400 and height >= 300


def test_compare_plot_as_svg(invoke: Invoke, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import xml.etree.ElementTree as ET

    out = tmp_path / "compare.svg"
    result = invoke("compare", "counter", "-n", "300", "--trials", "1", "--plot", str(out))
    assert result.exit_code == 0, result.output
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    assert "counter:lock" in "".join(root.itertext())


def test_without_matplotlib_plot_names_the_extra(
    invoke: Invoke, usage_error: Callable[[Result], str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from syncdemo.render import plot

    monkeypatch.setattr(plot, "available", lambda: False)
    out = tmp_path / "chart.png"
    line = usage_error(invoke("sweep", "counter", "--plot", str(out)))
    assert "syncdemo[plot]" in line
    assert not out.exists()


@pytest.mark.parametrize("name", ["chart.gif", "chart"])
def test_plot_takes_image_names_only(
    invoke: Invoke, usage_error: Callable[[Result], str], tmp_path: Path, name: str
) -> None:
    line = usage_error(invoke("compare", "counter", "--plot", str(tmp_path / name)))
    assert ".png" in line
