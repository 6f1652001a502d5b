"""Model artifacts: what an engine's learning agents learned, saved to a directory and
loaded into another engine (:meth:`adcore.Engine.save_models`,
:meth:`adcore.Engine.load_models`).

A directory holds one file, ``models.msgpack``: a versioned :class:`ModelArtifact`
with one :class:`AgentModel` per learning agent, by the agent's name. Each model is the
msgpack of the Struct its agent's :meth:`~adcore.Agent.dump_model` returned, with a
``kind`` that names its type (``"ftrl"``: :class:`adcore.learn.FTRLState`;
``"bandit"``: :class:`adcore.learn.BanditState`) and the agent's class, so a model is
never loaded into an agent of another kind. Files are written to a temporary name and
renamed, so a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import msgspec

from .errors import InvalidInput

__all__ = ["ARTIFACT_FILE", "ARTIFACT_VERSION", "AgentModel", "ModelArtifact", "read", "write"]

ARTIFACT_VERSION = 1
"""Changes whenever the format does."""

ARTIFACT_FILE = "models.msgpack"
"""The file in an artifact directory."""

MAX_BYTES = 1 << 31
"""The largest artifact read (2 GiB)."""


class AgentModel(msgspec.Struct, frozen=True, kw_only=True):
    """One agent's saved model.

    Parameters
    ----------
    agent : str
        The class of the agent that saved it (``"ContextualRelevanceAgent"``).
    kind : str
        The model's type (``"ftrl"``, ``"bandit"``).
    data : bytes
        The model's Struct, as msgpack.
    """

    agent: str
    kind: str
    data: bytes


class ModelArtifact(msgspec.Struct, frozen=True, kw_only=True):
    """Everything an engine's learning agents learned.

    Parameters
    ----------
    version : int
        :data:`ARTIFACT_VERSION` when written.
    models : dict of str to AgentModel
        By agent name (``"relevance"``, ``"creative"``).
    """

    version: int
    models: dict[str, AgentModel]


def write(directory: str | os.PathLike[str], artifact: ModelArtifact) -> Path:
    """Write ``artifact`` to ``directory`` (created if missing) atomically; the file's
    path."""
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create {str(folder)!r}: {exc}", "path") from None
    target = folder / ARTIFACT_FILE
    data = msgspec.msgpack.encode(artifact)
    fd, tmp = tempfile.mkstemp(prefix=".models-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read(directory: str | os.PathLike[str]) -> ModelArtifact:
    """The artifact in ``directory``; :class:`~adcore.errors.InvalidInput` (field
    ``"path"``) when it is missing, unreadable, too large, malformed or of another
    version."""
    target = Path(directory) / ARTIFACT_FILE
    try:
        size = target.stat().st_size
        if size > MAX_BYTES:
            raise InvalidInput(f"{str(target)!r} is {size} bytes, over {MAX_BYTES}", "path")
        raw = target.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {str(target)!r}: {exc}", "path") from None
    try:
        artifact = msgspec.msgpack.decode(raw, type=ModelArtifact)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"{str(target)!r} is not a model artifact: {exc}", "path") from None
    if artifact.version != ARTIFACT_VERSION:
        raise InvalidInput(
            f"{str(target)!r} has artifact version {artifact.version}; this adcore reads "
            f"{ARTIFACT_VERSION}",
            "path",
        )
    return artifact
