"""The CLI contract: `harness instance | patterns | solve`, errors -> exit 2, nothing written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse errors
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def instance_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "inst.npz"
    rc, _, _ = _run(capsys, "instance", "--n", "30", "--d", "3", "--seed", "4", "--out", str(path))
    assert rc == 0 and path.exists()
    return path


def test_solve_json_contract(instance_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(
        capsys,
        "solve",
        str(instance_file),
        "--beta",
        "0.05",
        "--formulation",
        "relu",
        "--patterns",
        "20",
        "--seed",
        "1",
        "--json",
    )
    assert rc == 0
    rec = json.loads(out)
    for key in ("objective", "status", "solver", "n_patterns", "max_cone_violation", "time_s"):
        assert key in rec
    assert rec["status"] == "optimal"
    np.testing.assert_allclose(rec["mapped_objective"], rec["objective"], rtol=1e-6)


def test_solve_uses_patterns_from_file(
    instance_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_d = tmp_path / "with_d.npz"
    rc, out, _ = _run(
        capsys,
        "patterns",
        str(instance_file),
        "--sample",
        "15",
        "--seed",
        "2",
        "--out",
        str(with_d),
        "--json",
    )
    assert rc == 0
    count = json.loads(out)["count"]
    rc, out, _ = _run(
        capsys, "solve", str(with_d), "--beta", "0.05", "--formulation", "gated", "--json"
    )
    assert rc == 0
    rec = json.loads(out)
    assert rec["n_patterns"] == count and rec["pattern_source"] == "file"


def test_full_formulation_and_enumeration(
    instance_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = _run(capsys, "patterns", str(instance_file), "--all", "--json")
    assert rc == 0
    assert json.loads(out)["count"] > 0
    rc, out, _ = _run(
        capsys, "solve", str(instance_file), "--beta", "0.05", "--formulation", "full", "--json"
    )
    assert rc == 0
    full = json.loads(out)
    rc, out, _ = _run(
        capsys, "solve", str(instance_file), "--beta", "0.05", "--patterns", "10", "--json"
    )
    relaxed = json.loads(out)
    assert full["objective"] <= relaxed["objective"] * (1 + 1e-6)  # p* <= p~*


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["solve", "{missing}", "--beta", "1"], "not found"),
        (["solve", "{inst}", "--beta", "-1"], "beta"),
        (["solve", "{inst}", "--beta", "nan"], "beta"),
        (["solve", "{inst}", "--beta", "1", "--formulation", "bogus"], "formulation"),
        (["solve", "{inst}", "--beta", "1"], "no patterns"),
        (["solve", "{inst}", "--beta", "1", "--patterns", "5", "--solver", "nope"], "solver"),
        (["patterns", "{inst}", "--all", "--cap", "3"], "cap"),
        (["solve", "{nanfile}", "--beta", "1", "--patterns", "3"], "NaN"),
        (["instance", "--n", "0", "--d", "2", "--out", "{out}"], "n"),
        (["instance", "--n", "5", "--d", "2", "--out", "{nodir}"], "does not exist"),
        (["instance", "--n", "5", "--d", "2", "--out", "{adir}"], "is a directory"),
        (["patterns", "{inst}", "--sample", "3", "--out", "{adir}"], "is a directory"),
        # memory estimated before allocating (issue 12, item 1)
        (["solve", "{inst}", "--beta", "0.1", "--patterns", "1000000000000"], "would need about"),
        (["patterns", "{inst}", "--sample", "1000000000000"], "would need about"),
        (["instance", "--n", "1000000000", "--d", "1000000", "--out", "{out}"], "would need"),
        # files that are not instances (item 7)
        (["solve", "{textnpz}", "--beta", "1", "--patterns", "3"], "not a valid .npz file"),
        (["solve", "{complexnpz}", "--beta", "1", "--patterns", "3"], "must be real numbers"),
    ],
)
def test_bad_input_exit_2_nothing_written(
    argv: list[str],
    match: str,
    instance_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    nanfile = tmp_path / "nan.npz"
    np.savez(nanfile, X=np.full((4, 2), np.nan), y=np.ones(4))
    textnpz = tmp_path / "text.npz"
    textnpz.write_text("1 2 3\n")
    complexnpz = tmp_path / "complex.npz"
    np.savez(complexnpz, X=np.ones((4, 2)) * 1j, y=np.ones(4))
    (tmp_path / "adir").mkdir()
    subs = {
        "{adir}": str(tmp_path / "adir"),
        "{textnpz}": str(textnpz),
        "{complexnpz}": str(complexnpz),
        "{inst}": str(instance_file),
        "{missing}": str(tmp_path / "missing.npz"),
        "{nanfile}": str(nanfile),
        "{out}": str(tmp_path / "o.npz"),
        "{nodir}": str(tmp_path / "no" / "such" / "o.npz"),
    }
    before = sorted(p.name for p in tmp_path.iterdir())
    rc, _out, err = _run(capsys, *[subs.get(a, a) for a in argv])
    assert rc == 2
    assert match in err
    lines = err.strip().splitlines()
    if err.startswith("usage:"):  # argparse: usage lines, then exactly one error line
        assert sum(line.startswith("harness") and "error:" in line for line in lines) == 1
    else:  # HarnessError: exactly one line
        assert len(lines) == 1 and lines[0].startswith("error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert list((tmp_path / "adir").iterdir()) == []


def test_console_script_runs(instance_file: Path) -> None:
    exe = shutil.which("harness") or str(Path(sys.executable).parent / "harness")
    proc = subprocess.run(
        [exe, "solve", str(instance_file), "--beta", "-2"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "beta" in proc.stderr


def test_closed_output_pipe_is_quiet(instance_file: Path, tmp_path: Path) -> None:
    """`harness ... | head -1`: the reader is gone; no BrokenPipeError traceback."""
    exe = shutil.which("harness") or str(Path(sys.executable).parent / "harness")
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe now fails with EPIPE
    try:
        proc = subprocess.run(
            [exe, "patterns", str(instance_file), "--sample", "5"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 141
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_interrupt_while_importing_a_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C while the command modules import: one line, exit 130, no traceback."""
    import harness.cli.app as cli_main

    def interrupted(name: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main.importlib, "import_module", interrupted)
    assert main(["--help"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_os_errors_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An operating-system error (read-only folder, full disk) is one `error:` line, exit 2."""
    import harness.cli.instance as cli_instance

    def denied(args: object) -> int:
        raise PermissionError(13, "Permission denied", "results/x")

    monkeypatch.setattr(cli_instance, "cmd_demo", denied)
    rc, out, err = _run(capsys, "demo")
    assert rc == 2 and out == ""
    assert err == "error: Permission denied: results/x\n"


def test_parser_imports_no_numerical_module() -> None:
    """`harness --help` and argument errors need only the standard library (lazy imports)."""
    code = (
        "import sys\n"
        "from harness.cli.app import build_parser\n"
        "build_parser()\n"
        "heavy = [m for m in ('numpy', 'scipy', 'pandas', 'cvxpy', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_every_subcommand_pins_blas(monkeypatch: pytest.MonkeyPatch) -> None:
    """One entry point: the sweep commands go through the same BLAS pinning as the rest."""
    import harness.cli.app as cli_main

    calls: list[int] = []
    monkeypatch.setattr(cli_main, "limit_blas_threads", lambda: calls.append(1))
    monkeypatch.setattr("harness.cli.sweep.cmd_status", lambda args: 0)
    assert main(["status", "whatever.toml"]) == 0
    assert calls == [1]


# --------------------------------------------------------------------------- start-up imports
HEAVY_MODULES = ("cvxpy", "matplotlib", "pandas", "scipy.optimize", "pyarrow")
_IMPORT_PROBE = (
    "import sys\n"
    "from harness.cli.app import main\n"
    "try:\n"
    "    code = main(sys.argv[1:])\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "heavy = [m for m in {heavy!r} if m in sys.modules]\n"
    "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--help"], ""),
        (["run", "{tmp}/nosuch.toml"], "spec file not found"),
        (["status", "{tmp}/nosuch.toml"], "spec file not found"),
        (["clean", "{tmp}/nosuch.toml"], "spec file not found"),
        (["run", "{tmp}/bad.toml"], "invalid TOML"),
        (["run", "{tmp}/nosuch.toml", "--scale", "huge"], "invalid choice"),
        (["show", "nosuch", "--results-dir", "{tmp}/r"], "no results for 'nosuch'"),
        (["check", "--experiments-dir", "{tmp}/none"], "--experiments-dir"),
        (["report", "--experiments-dir", "{tmp}/none"], "--experiments-dir"),
        (["figures", "--experiments-dir", "{tmp}/none"], "--experiments-dir"),
        (["reproduce", "--experiments-dir", "{tmp}/none"], "--experiments-dir"),
        (["table1", "--experiments-dir", "{tmp}"], "deep_uci.toml not found"),
        (["fig-deep", "--experiments-dir", "{tmp}/none"], "--experiments-dir"),
        (["solve", "{tmp}/missing.npz", "--beta", "1"], "instance file not found"),
        (["patterns", "{tmp}/missing.npz", "--sample", "3"], "instance file not found"),
        (["diagnose", "{tmp}/missing.npz", "--beta", "1"], "instance file not found"),
        (["instance", "--n", "5", "--d", "2", "--out", "{tmp}/no/x.npz"], "does not exist"),
    ],
)
def test_help_and_early_errors_import_no_heavy_module(
    argv: list[str], match: str, tmp_path: Path
) -> None:
    """Issue 11: `--help` and the early error exits answer without cvxpy, matplotlib, pandas,
    scipy.optimize or pyarrow (an import-set test, not a timing test); nothing is written."""
    (tmp_path / "bad.toml").write_text('name = "bad"\nkind = [')
    before = sorted(p.name for p in tmp_path.iterdir())
    code = _IMPORT_PROBE.format(heavy=HEAVY_MODULES)
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == (0 if argv == ["--help"] else 2), proc.stderr
    assert match in proc.stderr + proc.stdout
    heavy = [ln for ln in proc.stderr.splitlines() if ln.startswith("HEAVY=")]
    assert heavy == ["HEAVY="], (argv, heavy)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_reproduce_refuses_a_missing_experiments_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to skip every spec, write a report of NOT-RUN verdicts and exit 0."""
    rc, _out, err = _run(
        capsys, "reproduce", "--experiments-dir", str(tmp_path / "none"),
        "--results-dir", str(tmp_path / "r"), "--figures-dir", str(tmp_path / "f"),
    )  # fmt: skip
    assert rc == 2 and err.strip().splitlines() == [
        f"error: --experiments-dir: {tmp_path / 'none'} is not a folder"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: BLAS uses 1 thread anyway")
def test_blas_pinning_reaches_numpy_imported_later() -> None:
    """The CLI pins BLAS before any command imports numpy; threadpoolctl alone only limits
    libraries already loaded, so the pin must also reach a BLAS loaded afterwards (OpenBLAS
    defaults to one thread per core, so on >= 2 cores an unpinned BLAS fails this)."""
    threads = 1
    code = (
        "from harness.cli.app import limit_blas_threads\n"
        "limit_blas_threads()\n"
        "import numpy\n"
        "from threadpoolctl import threadpool_info\n"
        "print(sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["HARNESS_BLAS_THREADS"] = str(threads)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert proc.stdout.strip() == f"[{threads}]"
