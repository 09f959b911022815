"""A title (and, when asked, a summary) from a language model behind any OpenAI-compatible
chat endpoint: OpenAI itself, or Ollama / llama.cpp's server on the same machine.

Through the official `openai` client: `timeout_s` bounds each attempt and `retries` more
attempts follow a failed one (the client's own backoff in between). Whatever goes wrong — no
server, a timeout, an HTTP error, a refusal, an empty, over-long or punctuation-only answer —
raises LlmUnavailable with a short reason, and the caller files the keyword title instead.

The API key is read from the environment variable named by `api_key_env` at the moment of
the call and handed to the client only; it is never stored, logged or put in a reason (a
reason that somehow contains it is scrubbed).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from common.errors import TalksError
from pipeline.config.settings import TitlesConfig

NO_KEY = "not-needed"  # local servers want no key, but the client insists on one
_REFUSAL = re.compile(r"^(i'?m sorry|sorry|i can(?:no|')t|i am unable|i'm unable|as an ai|"
                      r"unfortunately)\b", re.IGNORECASE)
_LABEL = re.compile(r"^\s*(title|summary)\s*[:\-–]\s*", re.IGNORECASE)


class LlmUnavailable(TalksError):
    """The model gave no usable title; the message is the reason for the log."""


@dataclass(frozen=True)
class LlmAnswer:
    title: str
    summary: str | None


def _api_key(config: TitlesConfig) -> str:
    if not config.api_key_env:
        return NO_KEY
    key = os.environ.get(config.api_key_env, "")
    if not key:
        raise LlmUnavailable(f"the environment variable {config.api_key_env} (titles."
                             "api_key_env) is not set")
    return key


def _prompt(text: str, config: TitlesConfig) -> list[dict[str, str]]:
    words = text.split()
    excerpt = " ".join(words[:config.prompt_words])
    asked = (f"Give this talk a title of at most {config.max_title_words} words that names "
             "its subject.")
    if config.summary:
        shape = ("Answer in exactly two lines:\nTitle: <the title>\nSummary: <one paragraph "
                 "of two to four sentences on what the talk says>")
    else:
        shape = "Answer with the title alone, on one line, without quotes."
    return [
        {"role": "system", "content": "You name recorded talks, lectures and sermons for a "
                                      "library. You answer plainly, in the talk's language."},
        {"role": "user", "content": f"{asked} {shape}\n\nTranscript:\n{excerpt}"},
    ]


def clean_title(raw: str, max_words: int) -> str:
    """The title line of an answer, stripped of labels, quotes and markdown; raises
    LlmUnavailable for an answer that is not a usable title."""
    lines = [ln.strip() for ln in raw.strip().splitlines() if ln.strip()]
    if not lines:
        raise LlmUnavailable("the answer was empty")
    if _REFUSAL.match(lines[0]):
        raise LlmUnavailable("the model declined to give a title")
    decoration = "*#_`\"'“”‘’ "
    line = next((ln for ln in lines if ln.strip(decoration).lower().startswith("title")),
                lines[0])
    title = _LABEL.sub("", line.strip(decoration)).strip(decoration).rstrip(".").strip()
    title = " ".join(title.split())
    if not re.search(r"\w", title):
        raise LlmUnavailable("the answer held no words, only punctuation")
    count = len(title.split())
    if count > max_words:
        raise LlmUnavailable(f"the answer was {count} words long, more than "
                             f"max_title_words ({max_words})")
    return title


def _summary(raw: str) -> str | None:
    for i, line in enumerate(raw.splitlines()):
        if line.strip().lower().startswith("summary"):
            rest = " ".join([_LABEL.sub("", line.strip())] +
                            [ln.strip() for ln in raw.splitlines()[i + 1:]])
            return " ".join(rest.split()) or None
    return None


def _scrubbed(reason: str, key: str) -> str:
    return reason.replace(key, "***") if key and key != NO_KEY else reason


def ask_for_title(text: str, config: TitlesConfig) -> LlmAnswer:
    import openai

    key = _api_key(config)
    client = openai.OpenAI(base_url=config.base_url, api_key=key, timeout=config.timeout_s,
                           max_retries=config.retries)
    attempts = config.retries + 1
    try:
        response = client.chat.completions.create(
            model=config.model, messages=_prompt(text, config), temperature=0.2)
    except openai.APITimeoutError:
        raise LlmUnavailable(f"no answer from {config.base_url} within {config.timeout_s:g} s "
                             f"({attempts} attempt(s))") from None
    except openai.APIConnectionError as exc:
        why = type(exc.__cause__).__name__ if exc.__cause__ is not None else "no connection"
        raise LlmUnavailable(f"could not reach {config.base_url} ({why}; {attempts} "
                             "attempt(s)): is the server running?") from None
    except openai.APIStatusError as exc:
        raise LlmUnavailable(_scrubbed(f"{config.base_url} answered HTTP {exc.status_code}"
                                       f" ({type(exc).__name__})", key)) from None
    except openai.OpenAIError as exc:
        raise LlmUnavailable(_scrubbed(f"the endpoint's answer could not be used "
                                       f"({type(exc).__name__})", key)) from None
    except ValueError as exc:  # a body that is not the JSON the API promises
        raise LlmUnavailable(f"the endpoint's answer was not chat-completions JSON "
                             f"({type(exc).__name__})") from None
    finally:
        client.close()
    choices = getattr(response, "choices", None) or []
    if not choices or choices[0].message is None:
        raise LlmUnavailable("the answer held no message")
    message = choices[0].message
    if getattr(message, "refusal", None):
        raise LlmUnavailable("the model declined to give a title")
    raw = message.content or ""
    title = clean_title(raw, config.max_title_words)
    return LlmAnswer(title, _summary(raw) if config.summary else None)
