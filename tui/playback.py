"""Playing a clip on this machine's speakers, if it has a player: the voices view's clip of a
voice and the search's clip of a moment. One clip at a time, in the background: the app
never waits for a player, and a player never reads the app's keys. (No Textual here.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.api.configuration import Config
from pipeline.api.search import write_clip

if TYPE_CHECKING:
    from pipeline.api.search import Hit, TalkHits

# The players tried, in this order (on a Mac: afplay, always there). Each plays the clip once
# and exits, with no window and nothing on the terminal.
PLAYERS = (("ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet"), ("paplay",), ("aplay", "-q"))


def audio_player() -> list[str] | None:
    """The command that plays a sound file on this machine, or None when it has none."""
    if sys.platform == "darwin" and shutil.which("afplay"):
        return ["afplay"]
    for name, *options in PLAYERS:
        found = shutil.which(name)
        if found:
            return [found, *options]
    return None


def play(command: list[str], clip: Path) -> subprocess.Popen:
    """The clip played in the background: its own session (a key in the app's terminal
    never reaches it), no input, no output; the app does not wait for it."""
    return subprocess.Popen([*command, str(clip)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


class Playback:
    """The app's one clip playing (a new clip stops the one before). `find` gives the
    player's command, or None for none: a test passes its own."""

    def __init__(self, find: Callable[[], list[str] | None] = audio_player) -> None:
        self.find = find
        self.process: subprocess.Popen | None = None

    def play(self, clip: Path) -> str | None:
        """Start playing `clip`: the player's name, or None when the machine has none."""
        command = self.find()
        if command is None:
            return None
        self.stop()
        self.process = play(command, clip)
        return Path(command[0]).name

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()


def clip_moment(config: Config, playback: Playback, talk: TalkHits, hit: Hit) -> str:
    """A clip of a moment the search found, written into the clips folder and played when
    the machine has a player: the sentence that says where it is (MediaError when ffmpeg
    cannot cut it)."""
    clip = write_clip(config, talk, hit)
    player = playback.play(clip)
    if player is None:
        return f"Clip written: {clip}"
    return f"Clip written: {clip} (playing it with {player})"
