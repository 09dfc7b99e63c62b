"""Saving and loading the whole state to a file (pickle, written atomically)."""

from __future__ import annotations

import os
import pickle
import tempfile

from sandbox.state import SandboxState


def save(state: SandboxState, path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".sandbox-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: str) -> SandboxState | None:
    if not os.path.exists(path):
        return None
    with open(path, "rb") as fh:
        state = pickle.load(fh)  # noqa: S301 - our own file, written by save()
    if not isinstance(state, SandboxState):
        raise ValueError(f"{path} does not hold a sandbox state")
    return state
