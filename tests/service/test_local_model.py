"""The local model server is handed over only once it answers, and a dead one says why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import local_model
from service.cli.local_model import LocalModelDown, free_port, serve


def dying_server(mode: str) -> tuple[list[str], str]:
    port = free_port()
    return [sys.executable, "-m", "tests.peers.dying_server", str(port), mode], f"http://127.0.0.1:{port}/v1"


def test_a_server_that_crashes_on_its_first_request_is_reported_with_its_log_and_cause(tmp_path: Path) -> None:
    # given a server that lists its model but dies by SIGSEGV on the first chat completion
    command, url = dying_server("segv")
    # when it is started, then it is never handed over: the error says it crashed, shows its log, says what to do
    with pytest.raises(LocalModelDown) as caught, serve(command, base_url=url, log=tmp_path / "server.log"):
        pytest.fail("a server that crashed was handed over")
    message = str(caught.value)
    assert "segmentation fault" in message
    assert "about to compute the first batch" in message  # the server's last log line
    assert "scripts/bootstrap.sh local" in message


def test_a_server_that_exits_at_start_says_its_status(tmp_path: Path) -> None:
    command, url = dying_server("exit")
    with pytest.raises(LocalModelDown, match=r"(?s)exited.*failed to load model.*status 3"), \
            serve(command, base_url=url, log=tmp_path / "server.log"):
        pytest.fail("unreachable")


def test_a_server_that_never_answers_times_out_with_a_message(tmp_path: Path) -> None:
    command, url = dying_server("hang")
    with pytest.raises(LocalModelDown, match="answered no chat completion in 2 s"), \
            serve(command, base_url=url, log=tmp_path / "server.log", timeout_s=2):
        pytest.fail("unreachable")


def test_a_server_that_answers_is_handed_over_and_stopped_afterwards(tmp_path: Path) -> None:
    command, url = dying_server("ok")
    with serve(command, base_url=url, log=tmp_path / "server.log") as server:
        assert server.process.poll() is None
        assert server.base_url == url
    assert server.process.poll() is not None


def test_main_runs_the_command_while_the_server_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    command, url = dying_server("ok")
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    monkeypatch.setattr(local_model, "smollm2_gguf", lambda: tmp_path / "model.gguf")
    monkeypatch.setattr(local_model, "server_command", lambda gguf, *, port, n_ctx: command)
    probe = f"import urllib.request as u; u.urlopen('{url}/models', timeout=5)"
    # the command runs once the server answers, and its exit status is main's
    assert local_model.main(["--port", str(port), "--log", str(tmp_path / "log"), "--",
                             sys.executable, "-c", probe]) == 0
    assert local_model.main(["--port", str(port), "--log", str(tmp_path / "log"), "--",
                             sys.executable, "-c", "raise SystemExit(4)"]) == 4
    # a server that dies first: the command never runs
    crash, crash_url = dying_server("segv")
    monkeypatch.setattr(local_model, "server_command", lambda gguf, *, port, n_ctx: crash)
    marker = tmp_path / "ran"
    code = local_model.main(["--port", crash_url.rsplit(":", 1)[1].split("/")[0], "--log", str(tmp_path / "log2"),
                             "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')"])
    assert code == 1 and not marker.exists()


@pytest.mark.parametrize(("returncode", "expected"), [
    (-11, "segmentation fault"), (139, "segmentation fault"), (-4, "illegal instruction"),
    (-9, "SIGKILL"), (1, "status 1"),
])
def test_likely_cause(returncode: int, expected: str) -> None:
    assert expected in local_model.likely_cause(returncode)


def test_the_module_runs_as_a_script_and_refuses_no_command() -> None:
    done = subprocess.run([sys.executable, "-m", "service.cli.local_model"], capture_output=True, text=True)
    assert done.returncode == 2 and "give the command to run after --" in done.stderr
