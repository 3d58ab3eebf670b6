"""The end of a child process the bot started for media work (ffmpeg, the document worker).

Owns killing such a process and reaping it: waited for off the event loop, its pipes closed,
whatever became of its start (the start runs in a worker thread, and the caller may have been
cancelled meanwhile). Knows nothing of what the process does.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess


async def reap(spawning: asyncio.Future[subprocess.Popen[bytes]]) -> None:
    """Kill the process if it still runs, wait for it to end and close its pipes (whatever
    became of its start)."""
    if not spawning.done():
        await asyncio.wait([spawning])
    if spawning.cancelled() or spawning.exception() is not None:
        return
    process = spawning.result()
    if process.returncode is None:
        kill(process)
        await asyncio.to_thread(process.wait)
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the process, unless it has just ended by itself."""
    with contextlib.suppress(ProcessLookupError):
        process.kill()
