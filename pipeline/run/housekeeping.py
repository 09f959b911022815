"""What a run sees to before it files anything: parts left by a killed run, a rename or
merge killed half-way, a speaker library that has gone missing, clips nobody can read, and
raw backups past their time."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from common import media
from common.errors import TalksError
from pipeline.config import roots
from pipeline.config.settings import Config
from pipeline.config.speaker_folder import LibraryMissing, check_library
from pipeline.filing.person_rename import finish_interrupted
from pipeline.filing.place import delete_old_raw_backups, sweep_parts
from pipeline.filing.relabel import RelabelError
from pipeline.ledger import Ledger
from pipeline.run.events import LogLine, OnEvent
from pipeline.run.logs import get_logger
from pipeline.run.states import FileState
from speakers.library import LibraryError, SpeakerLibrary


def _run_checks(config: Config, inbox: bool = True) -> list[Callable[[], None]]:
    """What every file of the run would need: ffmpeg, an output root it can write, and the
    input folders there (an unplugged disk is said as such, not taken for an empty inbox).
    Each raises the sentence the run stops on."""
    out = config.output
    checks = [media.require_ffmpeg,
              partial(roots.check_output_root, out.ledger_path, out.root),
              partial(roots.check_output_writable, out.root)]
    if inbox:
        checks.append(partial(roots.check_input_folders, config.input.folders, config.source))
    return checks


def preflight(config: Config, inbox: bool = True) -> None:
    """`inbox`: the run reads the input folders (a talk done again from its raw backup
    needs none of them)."""
    for check in _run_checks(config, inbox):
        check()


def what_a_run_lacks(config: Config) -> list[str]:
    """Every sentence a run of this config would stop on, found without running it: the
    preflight's checks, and the model and speaker model its workers would load, each found
    by the lookup the worker makes (`talks config validate` lists them)."""
    from pipeline.stages.identify import check_embedder
    from pipeline.stages.transcribe import check_engine

    problems = []
    for check in [*_run_checks(config), partial(check_engine, config),
                  partial(check_embedder, config)]:
        try:
            check()
        except TalksError as exc:
            problems.append(str(exc))
    return problems


def before_the_run(config: Config, ledger: Ledger, emit: OnEvent) -> None:
    for removed in sweep_parts(config):
        get_logger().info("removed %s, left by an interrupted run", removed)
    _check_speaker_library(config, ledger, emit)  # before a rename is finished into it
    _finish_person_move(config, emit)
    _say_left_out_clips(config, emit)


def before_the_queue(config: Config, ledger: Ledger) -> None:
    filed_hashes = {r.hash for r in ledger.all_files() if r.state == FileState.FILED}
    for removed in delete_old_raw_backups(config, filed_hashes):
        get_logger().info("removed old raw backup %s", removed)


def _finish_person_move(config: Config, emit: OnEvent) -> None:
    """A rename or merge killed half-way is finished before anything is filed: a run in
    between would file new talks under the name that is going away, and a library split
    between two names sends the person's talks to review."""
    try:
        done = finish_interrupted(config)
    except (LibraryError, RelabelError, LibraryMissing) as exc:
        emit(LogLine("speakers", "WARNING", f"An interrupted rename or merge is not finished "
                     f"({exc}); run `talks speakers list` to finish it."))
        return
    if done is not None:
        emit(LogLine("speakers", "WARNING", f"Finished an interrupted change: {done.summary()}"))


def _check_speaker_library(config: Config, ledger: Ledger, emit: OnEvent) -> None:
    """A speaker folder that is missing files every talk under the default speaker. When
    people were enrolled from it before (speaker_folder.py), that is an unmounted disk or a
    moved folder: stop, as for a missing input folder, rather than file a whole batch that
    would each need relabelling. Never used: say so and go on."""
    sp = config.speakers
    if not sp.identify:
        return
    check_library(config, ledger=ledger, nothing="Nothing was filed. To file without "
                  "recognising anyone, set speakers.identify = false.")
    if sp.folder.is_dir():
        return
    emit(LogLine("speakers", "WARNING", f"The speaker library {sp.folder} does not exist, so "
                 f"nobody can be recognised and talks go to {sp.default_speaker}; "
                 "`talks speakers add NAME CLIP…` creates it."))


def _say_left_out_clips(config: Config, emit: OnEvent) -> None:
    """Clips the library cannot read as anyone's, said at the start of each run: otherwise a
    person would just go unrecognised, with nothing to say why."""
    if config.speakers.identify:
        for sentence in SpeakerLibrary(config.speakers.folder).left_out():
            emit(LogLine("speakers", "WARNING", sentence))
