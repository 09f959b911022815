"""A foreseen error reaches the user as its own sentence, with its own exit code: the batch
face says `talks: {sentence}` and the runner never re-words it."""

from __future__ import annotations

from pathlib import Path

from common.errors import ExitCode, Fault
from common.media import MediaError
from pipeline.config.settings import load_config
from pipeline.filing.place import FilingError
from pipeline.run.events import FileFailed
from pipeline.run.file_flow import process_file
from pipeline.run.states import OutcomeStatus, Stage
from tui import cli
from tui.commands import batch_run


def config_at(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    (tmp_path / "inbox").mkdir(exist_ok=True)
    path.write_text('[input]\nfolders = ["inbox"]\n[output]\nroot = "out"\n'
                    '[logging]\nfile = "out/talks.log"\n', encoding="utf-8")
    return path


SENTENCE = "The output folder was moved while talks filed into it: put it back, then run again."


def test_a_talks_errors_sentence_reaches_the_batch_faces_stderr_unchanged(
        tmp_path, monkeypatch, capsys):
    def run_batch(*_args, **_kwargs):
        raise FilingError(SENTENCE)

    monkeypatch.setattr(batch_run, "run_batch", run_batch)
    code = cli.main(["--config", str(config_at(tmp_path)), "--batch"])
    assert code is ExitCode.FAILED
    assert f"talks: {SENTENCE}\n" in capsys.readouterr().err


def test_a_fault_stops_the_batch_with_its_sentence_and_exit_code(tmp_path, monkeypatch, capsys):
    def run_batch(*_args, **_kwargs):
        raise Fault("The disk holding the ledger is full: free some space there.")

    monkeypatch.setattr(batch_run, "run_batch", run_batch)
    code = cli.main(["--config", str(config_at(tmp_path)), "--batch"])
    assert code is ExitCode.MACHINE
    assert "Stopped: The disk holding the ledger is full: free some space there.\n" in \
        capsys.readouterr().err


def test_a_config_error_is_said_once_and_exits_2(tmp_path, capsys):
    path = config_at(tmp_path)
    path.write_text('[input]\nmin_duration_s = "long"\n', encoding="utf-8")
    assert cli.main(["--config", str(path), "--batch"]) is ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("talks: 1 problem(s) in ") and "input.min_duration_s" in err


def test_a_talks_error_out_of_a_stage_is_that_stages_failure_in_its_words(
        tmp_path, monkeypatch):
    config = load_config(config_at(tmp_path))
    recording = tmp_path / "inbox" / "talk.mp3"
    recording.write_bytes(b"not audio at all")

    def probe(path):
        raise MediaError(f"{path.name} is not a recording ffmpeg can read: re-export it.")

    monkeypatch.setattr("common.media.probe", probe)
    events: list = []
    outcome = process_file(recording, config, events.append)
    said = "talk.mp3 is not a recording ffmpeg can read: re-export it."
    assert (outcome.status, outcome.stage, outcome.reason) == \
        (OutcomeStatus.FAILED, Stage.PROBE, said)
    assert FileFailed("talk.mp3", Stage.PROBE, said) in events


def test_status_with_no_output_root_says_why_and_makes_nothing(tmp_path, capsys):
    # A look files nothing, so not the run's "Nothing was filed": a root never filed into
    # has nothing yet (exit 0); one filed into before and gone is a disk away (exit 3).
    path = config_at(tmp_path)
    for root in ("out", "disk/library"):
        path.write_text(f'[input]\nfolders = ["inbox"]\n[output]\nroot = "{root}"\n',
                        encoding="utf-8")
        assert cli.main(["--config", str(path), "status"]) is ExitCode.OK
        assert capsys.readouterr().out == (
            f"Nothing has been filed into {tmp_path / root} yet: the folder does not exist, "
            "and the first run makes it (talks --batch, or s in the app).\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "inbox"]
    (tmp_path / "disk").mkdir()  # the disk plugged in: a run files into it
    assert cli.main(["--config", str(path), "--batch"]) is ExitCode.OK
    (tmp_path / "disk").rename(tmp_path / "unplugged")
    capsys.readouterr()
    assert cli.main(["--config", str(path), "status"]) is ExitCode.MACHINE
    assert capsys.readouterr().err == (
        f"talks: The output root {tmp_path / 'disk/library'} had filed talks and is missing "
        f"now: if it is on an external disk, mount it; otherwise fix output.root in {path}.\n")
    assert not (tmp_path / "disk").exists()


def test_a_command_that_only_looks_makes_no_output_root(tmp_path, capsys):
    # A newcomer looks around before filing anything: nothing appears on the disk for it
    # (no output root, ledger or log), and each look says there is nothing yet.
    path = tmp_path / "config.toml"
    (tmp_path / "inbox").mkdir()
    path.write_text('[input]\nfolders = ["inbox"]\n[output]\nroot = "out"\n'
                    '[speakers]\nfolder = "library"\n', encoding="utf-8")
    looks = {("status",): "Nothing has been filed into",
             ("review",): "No talks need review: nothing has been filed yet.",
             ("speakers", "list"): "No speakers enrolled",
             ("voices",): "No voice waits for a name",
             ("voices", "--json"): '"groups": []'}
    for args, said in looks.items():
        assert cli.main(["--config", str(path), *args]) is ExitCode.OK, args
        assert said in capsys.readouterr().out, args
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "inbox"]
