"""`?`: every key of every screen, on one page."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

HELP = """\
[b]talks[/b] transcribes recorded talks, recognises the speaker
by voice, titles them and files them as
talks/YEAR/SPEAKER/SPEAKER - TITLE.ext

[b]Main screen[/b]
 s  start the queue: every new or unfinished recording
    (while a run is going: it looks for new ones too)
 p  pause: finish the file in progress, then wait
    (p again: go on, with the next file once paused)
 c  stop after the current chunk (c again: at once);
    s resumes there
 w  watch the input folders: what waits starts now, and
    a new recording once it has stopped growing (w: off)
 t  (or Enter) the transcript of the highlighted talk
 /  search the words of every filed talk
 r  review talks whose speaker was uncertain
 k  speaker library   o  settings   l  log
 v  voices heard in two or more talks, waiting for a name
 ↑ ↓ PgUp PgDn Home End  move in the list

 A run started elsewhere (another app, talks --batch)
 shows here too, and s p c go to it. Closing the
 terminal never stops a run: it goes on headless.

[b]Review[/b]
 1–9  file the talk under that candidate
 n    a new person     m  Miscellaneous Speakers
 s    skip (it stays listed)
 e    also enroll a voice sample of the talk

[b]Speakers[/b]
 a  add clips: a file, or a time range of a filed talk
 r  rename   m  merge into another   d  remove (kept)
 v  voices waiting for a name

[b]Voices[/b] (talks under the default speaker, by voice)
 Enter or t  a voice's talks   x  take a talk out
 n  name it: its talks filed under the name, and the
    person enrolled     m  merge into another voice
 p  play a clip of it here (no player: its path)

[b]Search[/b] (/ on the main screen)
 type     words, a "phrase", bridg*, -word to leave out;
          the moments found show as you type
 ↓ Tab    to the list     /  back to the words
 Enter    the transcript at that moment, words marked
 c        a clip of ~30 s around it (played when the
          machine has a player; its path is said)
 In the transcript: n next moment  N previous  c clip

[b]Settings[/b]
 ↑ ↓ Tab  move     Ctrl+S  save     Esc  back
 A problem shows under its field; nothing is saved
 while there is one.

[b]Everywhere[/b]
 Esc  back     ?  this help
 q    quit; while this app's queue runs it stops
      after the current chunk first (q again: at
      once). The next start resumes either way. A run
      this app only shows goes on.
"""


class HelpScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close"),
        Binding("question_mark", "app.pop_screen", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(HELP, id="help-text")
        yield Footer(compact=True)
