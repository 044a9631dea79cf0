"""The static kind list the spec loader uses for fast refusals equals what the modules register."""

from __future__ import annotations

import subprocess
import sys

from harness.kinds import BUILTIN_KINDS, KINDS


def test_builtin_kinds_equal_registered_kinds() -> None:
    assert sorted(BUILTIN_KINDS) == KINDS.names()


def test_unknown_kind_refused_without_importing_kind_modules(tmp_path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('name = "bad"\nkind = "relaxation_gapp"\nseed = 1\n[grid]\nn = 10\n')
    code = (
        "import sys\n"
        "from harness.errors import SpecError\n"
        "from harness.sweep.spec import load_spec\n"
        "try:\n"
        f"    load_spec({str(spec)!r})\n"
        "except SpecError as e:\n"
        "    print(e)\n"
        "print(sorted(m for m in sys.modules if m.startswith('harness.kinds.')))\n"
        "print('cvxpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert "kind" in lines[0] and "relaxation_gap" in lines[0] and "relaxation_gapp" in lines[0]
    assert lines[1] == "[]"
    assert lines[2] == "False"
