from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.stack import SECRET, Receiver, Stack, free_port

MODEL = Path(__file__).resolve().parents[2] / "models" / "current.tar.gz"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory):
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does it first)")
    receiver = Receiver(SECRET)
    receiver.start()
    data_dir = tmp_path_factory.mktemp("stack-data")
    running = Stack(
        rasa_port=free_port(),
        action_port=free_port(),
        inbox_port=free_port(),
        data_dir=data_dir,
        receiver=receiver,
        log_path=data_dir / "stack.log",
    )
    running.start()
    yield running
    running.stop()
    receiver.stop()
