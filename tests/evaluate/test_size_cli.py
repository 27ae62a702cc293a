"""`hpctl size` refuses bad input with a message naming what is wrong, before any replay."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from controller.app.cli import main

from .conftest import JUNE, RIVER


def _size(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "size",
        "--plant",
        str(RIVER),
        "--scenario",
        str(JUNE),
        "--days",
        "1",
        "--quiet",
        "--out",
        str(tmp_path / "out"),
        *extra,
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ("--heat-pump-mw", "10,x", "--tank-m3", "0"),
            "argument --heat-pump-mw: 'x' is not a number",
        ),
        (
            ("--heat-pump-mw", "0", "--tank-m3", "0"),
            "argument --heat-pump-mw: 0 must be more than 0",
        ),
        (("--heat-pump-mw", "10", "--tank-m3", "-5"), "argument --tank-m3: -5 must be 0 or more"),
        (("--heat-pump-mw", "10,10", "--tank-m3", "0"), "'10,10' repeats a value"),
        (("--heat-pump-mw", "10", "--tank-m3", "0,2e6"), "2e6 must be 0 or more, up to 1e6"),
        (("--heat-pump-mw", "10", "--tank-m3", "0", "--policy", "best"), "invalid choice"),
    ],
)
def test_bad_grid_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], message: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(_size(tmp_path, *extra))
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_cost_file_is_refused_before_the_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    costs = tmp_path / "costs.toml"
    costs.write_text("[heat_pump]\ninvestment_eur_per_mw = 'cheap'\n")
    argv = _size(tmp_path, "--heat-pump-mw", "10", "--tank-m3", "0", "--costs", str(costs))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(costs) in err and "heat_pump.investment_eur_per_mw" in err
    assert not (tmp_path / "out").exists()


def test_missing_dask_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    monkeypatch.delitem(sys.modules, "controller.evaluate.size_sweep", raising=False)
    assert main(_size(tmp_path, "--heat-pump-mw", "10", "--tank-m3", "0")) == 2
    assert "runs on Dask, which is not installed" in capsys.readouterr().err
