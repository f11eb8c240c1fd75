"""The README's tour and its command lines run as written."""

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_tour_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README has no python block"
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        namespace = {}
        exec(compile(code, str(README), "exec"), namespace)
    assert namespace["model"].n == namespace["fit"].order
    assert (tmp_path / "plant.npz").exists()


def test_readme_quickstart_has_the_two_commands():
    text = README.read_text()
    quick = text.split("## Quickstart", 1)[1].split("##", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", quick, re.S)[0].strip().splitlines()
    assert commands == ["pip install . && realize demo", 'pip install ".[test]" && pytest']


def _cli_lines() -> list[str]:
    """The README's command lines: the ```text block after 'On the command line'."""
    text = README.read_text().split("On the command line", 1)[1]
    block = re.findall(r"```text\n(.*?)```", text, re.S)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


def _realize_command() -> list[str]:
    """The installed console script beside this Python, else ``python -m realize``."""
    script = shutil.which("realize", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "realize"]


def test_readme_command_lines_run_in_order(tmp_path):
    """Every line of the README's command-line block runs as written, in order, in an
    empty folder, and exits 0 (the first line makes the data the others read)."""
    lines = _cli_lines()
    assert lines[0].startswith("realize data ") and len(lines) >= 5
    has_torch = importlib.util.find_spec("torch") is not None
    env = dict(os.environ, MPLBACKEND="Agg")
    for line in lines:
        argv = shlex.split(line)
        assert argv[0] == "realize", line
        if "--nonlinear" in argv and not has_torch:
            continue  # the README says this line needs the nn extra
        proc = subprocess.run(
            _realize_command() + argv[1:],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
        assert "error" not in proc.stderr, (line, proc.stderr)
    # what the lines promise: the model beside the report, --save exactly as written
    assert (tmp_path / "out" / "model.npz").is_file()
    assert (tmp_path / "plant.npz").is_file() and (tmp_path / "modal.npz").is_file()
    assert not (tmp_path / "balanced.npz").exists()  # convert without --save prints only
