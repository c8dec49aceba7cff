"""What an ingest has embedded so far, kept on disk while it runs, so that an ingest that
is killed (or fails later, e.g. on a full disk) resumes without embedding it again.

Vectors are written in shards, each a ``.keys`` file (one embedding key per line) and a
``.npy`` file (float32, one row per key), each renamed into place whole; a shard is read
only when both are there and fit together, so a kill mid-write loses that shard alone.
Keys hash the embedder's name and dimension with the text (``embed.embedding_key``),
so a spill left by another embedder is never mistaken for this one's. The folder is
removed once the new index version is written.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
SHARD_TEXTS = 1024  # vectors per shard: at most this much work is lost to a kill


def spill_folder(home: Path, where: str) -> Path:
    """The spill of the index at ``where`` (a folder or a database), under ``home``."""
    return Path(home) / "ingest-spill" / hashlib.sha256(where.encode()).hexdigest()[:16]


class Spill:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._keys: list[str] = []
        self._vectors: list[np.ndarray] = []

    def load(self, wanted: set[str]) -> dict[str, np.ndarray]:
        """The spilled vectors of the keys in ``wanted``."""
        found: dict[str, np.ndarray] = {}
        if not self.folder.is_dir():
            return found
        for keys_file in sorted(self.folder.glob("shard-*.keys")):
            try:
                keys = keys_file.read_text("ascii").split()
                vectors = np.load(keys_file.with_suffix(".npy"), allow_pickle=False)
            except (OSError, ValueError) as error:
                log.warning("skipping a damaged ingest spill shard %s (%s)", keys_file.name, error)
                continue
            if vectors.ndim != 2 or vectors.dtype != np.float32 or len(vectors) != len(keys):
                continue
            found.update({k: vectors[i] for i, k in enumerate(keys) if k in wanted})
        if found:
            log.warning("resuming an interrupted ingest: %d vectors already embedded", len(found))
        return found

    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        self._keys.extend(keys)
        self._vectors.append(np.asarray(vectors, dtype=np.float32))
        if len(self._keys) >= SHARD_TEXTS:
            self.flush()

    def flush(self) -> None:
        if not self._keys:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"shard-{len(list(self.folder.glob('shard-*.keys'))):06d}-{os.getpid()}"
            vectors = self.folder / f"{name}.npy"
            np.save(self.folder / f".{name}.npy", np.concatenate(self._vectors), allow_pickle=False)
            os.replace(self.folder / f".{name}.npy", vectors)
            (self.folder / f".{name}.keys").write_text("\n".join(self._keys), "ascii")
            os.replace(self.folder / f".{name}.keys", self.folder / f"{name}.keys")
        except OSError as error:  # the spill only saves work; the ingest goes on without it
            log.warning("could not save embedding progress in %s (%s)", self.folder, error)
        self._keys, self._vectors = [], []

    def clear(self) -> None:
        self._keys, self._vectors = [], []
        shutil.rmtree(self.folder, ignore_errors=True)
