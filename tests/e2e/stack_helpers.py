"""How the e2e fixtures make and start a stack (tests/e2e/stack.py): one place for the free ports, the model check
and the start/stop order, so each fixture says only what is its own (data dir, receiver, settings)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest

from tests.e2e.stack import Receiver, Stack, free_port

MODEL = Path(__file__).resolve().parents[2] / "models" / "current.tar.gz"


def require_model() -> None:
    """Fail (not skip) without a trained model: an e2e test that cannot run must say so."""
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does it first)")


def local_stack(
    data_dir: Path, receiver: Receiver, extra_env: Dict[str, str], log_path: Optional[Path] = None
) -> Stack:
    """A stack (not started yet) on free loopback ports, logging to `log_path` (data_dir/stack.log by default)."""
    return Stack(
        rasa_port=free_port(),
        action_port=free_port(),
        inbox_port=free_port(),
        data_dir=data_dir,
        receiver=receiver,
        log_path=log_path or data_dir / "stack.log",
        extra_env=extra_env,
    )


@contextmanager
def running_stack(
    data_dir: Path,
    receiver: Receiver,
    extra_env: Dict[str, str],
    log_path: Optional[Path] = None,
    start_receiver: bool = True,
) -> Iterator[Stack]:
    """Start `receiver` (unless told not to), then a local_stack; stop both afterwards, the stack first."""
    require_model()
    if start_receiver:
        receiver.start()
    running = local_stack(data_dir, receiver, extra_env, log_path)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        if start_receiver:
            receiver.stop()
