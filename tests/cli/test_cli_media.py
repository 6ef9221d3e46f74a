"""``odsc-llm chat --image`` and ``odsc-llm transcribe``, through a real subprocess."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from odsc_llm.testing import LocalDeployment

from ..support.cli import run_cli
from ..support.media import PNG, wav

pytest.importorskip("uvicorn")


class Emulator:
    """A running LocalDeployment and the OCI config file that signs for it."""

    def __init__(self, local: LocalDeployment, config: Path) -> None:
        self.local, self.config = local, str(config)

    def run(self, command: str, *rest: str) -> subprocess.CompletedProcess[str]:
        return run_cli(command, self.local.url, *rest, "--config-file", self.config)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with LocalDeployment() as local:
        yield Emulator(local, local.write_oci_config(tmp_path_factory.mktemp("oci")))


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    emulator.local.reset()
    yield emulator
    emulator.local.reset()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "cat.png").write_bytes(PNG)
    (tmp_path / "speech.wav").write_bytes(wav())
    (tmp_path / "notes.txt").write_bytes(b"not an image")
    return tmp_path


def test_chat_with_images(emu: Emulator, files: Path) -> None:
    result = emu.run(
        "chat",
        "What is in this picture?",
        "--image",
        str(files / "cat.png"),
        "--image",
        "https://example.invalid/dog.jpg",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "You said: What is in this picture? [image/png 32 bytes] "
        "[image https://example.invalid/dog.jpg]\n"
    )
    content = emu.local.requests[-1].json()["messages"][0]["content"]
    assert [part["type"] for part in content] == ["text", "image_url", "image_url"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hi", "--image", "{files}/notes.txt"], "not a PNG, JPEG, GIF or WebP"),
        (["hi", "--image", "{files}/missing.png"], "cannot be read"),
        (["--image", "{files}/cat.png"], "--image goes with a MESSAGE"),
    ],
)
def test_chat_bad_images_are_usage_errors(
    emu: Emulator, files: Path, args: list[str], message: str
) -> None:
    result = emu.run("chat", *[a.format(files=files) for a in args])
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert emu.local.requests == []


def test_transcribe_streams_by_default(emu: Emulator, files: Path) -> None:
    result = emu.run("transcribe", str(files / "speech.wav"), "--language", "en")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "1.5 seconds of audio at 16000 Hz\n"
    request = emu.local.requests[-1]
    assert request.path.endswith("/predictWithResponseStream")
    assert request.headers["route"] == "/v1/audio/transcriptions"
    assert b'filename="speech.wav"' in request.body


def test_transcribe_takes_the_routing(emu: Emulator, files: Path) -> None:
    """--routing path names the container path in the URL: an MIE deployment (the
    emulator routes what its control plane reports) answers; a classic one refuses."""
    plane = emu.local.control_plane
    plane.predict_api_specification = "openai"
    try:
        result = emu.run("transcribe", str(files / "speech.wav"), "--routing", "path")
    finally:
        plane.predict_api_specification = None
    assert result.returncode == 0, result.stderr
    request = emu.local.requests[-1]
    assert request.path.endswith("/predictWithResponseStream/v1/audio/transcriptions")
    assert "route" not in request.headers
    refused = emu.run("transcribe", str(files / "speech.wav"), "--routing", "path")
    assert refused.returncode == 1 and "--routing header" in refused.stderr


def test_transcribe_whole_translate_and_json(emu: Emulator, files: Path) -> None:
    whole = emu.run("transcribe", str(files / "speech.wav"), "--no-stream", "--translate")
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout == "Translated: 1.5 seconds of audio at 16000 Hz\n"
    assert emu.local.requests[-1].headers["route"] == "/v1/audio/translations"
    assert emu.local.requests[-1].path.endswith("/predict")
    as_json = emu.run("transcribe", str(files / "speech.wav"), "--json")
    assert as_json.returncode == 0, as_json.stderr
    answer = json.loads(as_json.stdout)
    assert answer["duration"] == "1.5" and answer["segments"][0]["end"] == 1.5


def test_transcribe_bad_files(emu: Emulator, files: Path) -> None:
    missing = emu.run("transcribe", str(files / "missing.wav"))
    assert missing.returncode == 2 and "cannot be read" in missing.stderr
    not_audio = emu.run("transcribe", str(files / "notes.txt"), "--no-stream")
    assert not_audio.returncode == 1
    assert "Invalid or unsupported audio" in not_audio.stderr
    assert "Traceback" not in missing.stderr + not_audio.stderr
