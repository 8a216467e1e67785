"""Command-line parsing: the simulator's own arguments pass through, unknown ones are refused."""

from __future__ import annotations

import pytest

from syncd.cli import main


def test_sim_arguments_reach_the_simulator(capsys):
    """``syncd sim --help`` is the simulator's help, not syncd's."""
    with pytest.raises(SystemExit) as exc:
        main(["sim", "--help"])
    assert exc.value.code == 0
    assert "--dual-master" in capsys.readouterr().out


def test_unknown_arguments_of_other_commands_are_refused(capsys):
    """An unknown option on a syncd command is a usage error (exit 2), naming the option."""
    with pytest.raises(SystemExit) as exc:
        main(["diff", "--bogus"])
    assert exc.value.code == 2
    assert "--bogus" in capsys.readouterr().err


def test_version_prints_the_version(capsys):
    """``syncd version`` prints the installed version."""
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("syncd ")
