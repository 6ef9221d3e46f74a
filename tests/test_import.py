"""`import odsc_llm` (and odsc_llm.auth) must stay light: no oci until credentials load."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_import_oci() -> None:
    code = (
        "import sys, odsc_llm, odsc_llm.auth\n"
        "assert odsc_llm.auth.OCIAuth is not None\n"
        "print('oci' in sys.modules, any(m.startswith('oci.') for m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "False"], result.stdout + result.stderr
