"""The run's mailbox on the cluster: a Ray actor between the head and its tasks.

A task on a node cannot reach the head's process (the head may not even be a node: a
ray:// address), so each side posts to the desk and takes from it: the task its events and
its ledger calls, the head the answers and a request to stop. Async methods: a take or a
wait for an answer is woken the moment something arrives, instead of polling.
Plain Python here; pipeline/cluster/driver.py makes it an actor.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Box:
    items: list[Any] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    answers: dict[str, Any] = field(default_factory=dict)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    stop: bool = False


async def _until(event: asyncio.Event, ready, wait_s: float) -> bool:
    """Wait up to wait_s for `ready()`, woken by `event`. True once it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not ready():
        left = deadline - loop.time()
        if left <= 0:
            return False
        event.clear()  # no await between the check and here: nothing is missed
        try:
            await asyncio.wait_for(event.wait(), left)
        except TimeoutError:
            return bool(ready())
    return True


class Desk:
    """One box per task (its key): items up, answers and the stop request down."""

    def __init__(self) -> None:
        self._boxes: dict[str, _Box] = {}

    def _box(self, key: str) -> _Box:
        return self._boxes.setdefault(key, _Box())

    async def post(self, key: str, item: Any) -> None:
        box = self._box(key)
        box.items.append(item)
        box.arrived.set()

    async def take(self, key: str, wait_s: float) -> list[Any]:
        box = self._box(key)
        await _until(box.arrived, lambda: box.items, wait_s)
        items, box.items = box.items, []
        return items

    async def answer(self, key: str, call_id: str, reply: Any) -> None:
        box = self._box(key)
        box.answers[call_id] = reply
        box.answered.set()

    async def answer_to(self, key: str, call_id: str, wait_s: float) -> tuple[bool, Any]:
        """(True, the answer) once the head has answered, else (False, None) after wait_s."""
        box = self._box(key)
        if await _until(box.answered, lambda: call_id in box.answers, wait_s):
            return True, box.answers.pop(call_id)
        return False, None

    async def stop(self, key: str) -> None:
        self._box(key).stop = True

    async def stopping(self, key: str) -> bool:
        return self._box(key).stop

    async def close(self, key: str) -> None:
        self._boxes.pop(key, None)
