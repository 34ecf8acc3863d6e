"""The ``deepkern`` command as a whole: --version, --help listing every command in plain text,
README's command table equal to that listing, and one-line errors for mistakes at the top."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

import deepkern as dk
from deepkern import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out == f"deepkern {dk.__version__}\n"


def _help_listing(text):
    """(command, help) rows of the 'commands:' section of `deepkern --help`."""
    section = text.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
    return [tuple(re.split(r"\s{2,}", line.strip(), maxsplit=1)) for line in section.splitlines()]


def _readme_listing():
    section = README.read_text(encoding="utf-8").split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `deepkern")]
    return [tuple(re.fullmatch(r"\| `([^`]+)` \| (.+) \|", row).groups()) for row in rows]


def test_help_lists_every_command_in_plain_text():
    out = subprocess.run([sys.executable, "-m", "deepkern", "--help"], capture_output=True, text=True,
                         check=True).stdout
    listing = _help_listing(out)
    assert listing == cli.command_listing()
    commands = {row[0].split()[1] for row in listing}
    from deepkern.cli import commands as registry
    assert commands == set(registry.available()) and "detect" in commands
    from deepkern.train import tasks
    assert [r[0] for r in listing if r[0].startswith("deepkern train ")] == [f"deepkern train {t}"
                                                                           for t in tasks.available()]
    assert "{" not in out.split("\ncommands:\n")[1]  # no argparse {a,b,c} choice lists


def test_readme_command_table_matches_help_exactly():
    """Whoever adds a command or task updates README's table with the same words as HELP."""
    assert _readme_listing() == cli.command_listing()


@pytest.mark.parametrize("argv, message", [
    ([], "deepkern: the following arguments are required: COMMAND (see 'deepkern --help')"),
    (["frobnicate"], "deepkern: COMMAND: invalid choice: 'frobnicate' (choose from 'bench', 'detect', "),
    (["train"], "deepkern train: the following arguments are required: TASK (see 'deepkern train --help')"),
    (["train", "resnet"], "deepkern train: TASK: invalid choice: 'resnet' (choose from 'autoencoder', "),
    (["bench", "nosuchfamily", "--list"], "deepkern bench: FAMILY: unknown nosuchfamily; choose from gemm"),
    (["bench", "--repeat", "0"], "deepkern bench: --repeat: expected an integer >= 1, got 0"),
    (["bench", "--threads", "2", "--cpu-time"], "deepkern bench: --cpu-time: needs --threads 1"),
])
def test_top_level_mistakes_are_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert err.startswith(message) and err.count("\n") == 1 and out == "", err


def test_entry_point_exit_code_and_stderr():
    proc = subprocess.run([sys.executable, "-m", "deepkern", "train", "lenet", "--epochs", "-3"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("deepkern train lenet: --epochs: expected an integer >= 1, got -3 "
                           "(see 'deepkern train lenet --help')\n")
