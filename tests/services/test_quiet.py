"""services/quiet.py: a library's deprecation notices are left out of the console; other warnings, warnings
pointing at our code, the program's arguments and exit code are untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from services.quiet import PROJECT_ROOT, is_library_notice

SITE_PACKAGES = "/work/venv/lib/python3.10/site-packages"

# Like Sanic, the "library" turns DeprecationWarning back on with a filter of its own before warning.
NOISY_LIBRARY = """
import logging, sys, warnings
warnings.filterwarnings("once", category=DeprecationWarning)
warnings.warn("LIBRARY-DEPRECATION", DeprecationWarning)
warnings.warn("LIBRARY-FUTURE", FutureWarning)
warnings.warn("LIBRARY-USERWARNING", UserWarning)
print("args", sys.argv[1:], "executor-level", logging.getLogger("rasa_sdk.executor").level)
sys.exit(3)
"""


def run_noisy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "noisy_library.py").write_text(NOISY_LIBRARY)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    environment.update(PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT), str(tmp_path)]), **env)
    return subprocess.run(
        [sys.executable, "-m", "services.quiet", "noisy_library", "run", "--port", "5005"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_deprecation_notices_from_libraries_are_dropped_and_the_rest_is_kept(tmp_path):
    result = run_noisy(tmp_path)
    assert result.returncode == 3
    assert "args ['run', '--port', '5005'] executor-level 30" in result.stdout
    assert "LIBRARY-DEPRECATION" not in result.stderr and "LIBRARY-FUTURE" not in result.stderr
    assert "LIBRARY-USERWARNING" in result.stderr


def test_pythonwarnings_shows_everything_again(tmp_path):
    result = run_noisy(tmp_path, PYTHONWARNINGS="default")
    assert "LIBRARY-DEPRECATION" in result.stderr and "LIBRARY-FUTURE" in result.stderr
    assert "executor-level 0" in result.stdout  # the library decides its own levels


def test_only_deprecation_type_warnings_outside_our_code_are_library_notices():
    library = f"{SITE_PACKAGES}/sanic_cors/extension.py"
    ours = str(PROJECT_ROOT / "bot" / "screening" / "flow.py")
    assert is_library_notice(DeprecationWarning, library)
    assert is_library_notice(PendingDeprecationWarning, "<frozen importlib._bootstrap>")
    assert is_library_notice(FutureWarning, library)  # Rasa's own deprecation notices are FutureWarnings
    assert not is_library_notice(UserWarning, library)  # e.g. Rasa saying a configured store was not found
    assert not is_library_notice(RuntimeWarning, library)
    assert not is_library_notice(DeprecationWarning, ours)  # ours are for us to fix: shown
    assert is_library_notice(
        DeprecationWarning, str(PROJECT_ROOT / ".venv" / "lib" / "python3.10" / "site-packages" / "jax" / "x.py")
    )


def test_only_rasas_expected_faq_warnings_are_hidden_among_user_warnings():
    rasa_io = f"{SITE_PACKAGES}/rasa/shared/utils/io.py"
    expected = "Your training data contains an example 'how much is it...' for the 'faq/cost' intent."
    assert is_library_notice(UserWarning, rasa_io, expected)
    assert is_library_notice(UserWarning, rasa_io, "Unable to fetch responses for faq/cost This means ...")
    # Anything else Rasa warns about is shown, and so is a look-alike about another retrieval intent.
    assert not is_library_notice(UserWarning, rasa_io, "Unable to fetch responses for chitchat/greet")
    other = "Your training data contains an example 'hi...' for the 'chitchat/greet' intent."
    assert not is_library_notice(UserWarning, rasa_io, other)
    assert not is_library_notice(UserWarning, rasa_io, "Tracker store could not be loaded")
    assert not is_library_notice(UserWarning, str(PROJECT_ROOT / "actions" / "x.py"), expected)
