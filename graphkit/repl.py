"""``graphkit repl``: an interactive shell over the local artifacts (no Spark).

Commands (``help`` lists them; ids are the user's ids)::

    similar ID [K]               vertices with the most similar neighbourhoods (LSH index)
    community ID [ID ...] [size=N]  grow a community from seeds; show its sub-communities
    ppr ID [ID ...] [k=K]        personalized PageRank top-k (needs --ppr-index)
    neighbors ID [K]             nearest vertices in embedding space (needs --embeddings)
    adjacent ID                  graph neighbours stored in the LSH index
    info                         what is loaded
    quit

Every answer ends with its latency. Bad commands and unknown ids print a message and the shell
goes on. When standard input is not a terminal, commands are read from it (one per line), so
sessions can be scripted: ``printf 'similar 5\\n' | graphkit repl INDEX``.
"""

from __future__ import annotations

import cmd
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from graphkit.errors import GraphkitError

HISTORY = Path(os.environ.get("GRAPHKIT_HISTORY", Path.home() / ".graphkit_history"))


class UsageError(Exception):
    """A command typed wrongly (shown to the user, never a crash)."""


def _split(line: str) -> tuple[list[str], dict[str, str]]:
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    positional = [w for w in words if "=" not in w]
    options = dict(w.split("=", 1) for w in words if "=" in w)
    return positional, options


def _positive_int(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{name} must be a positive integer, got {text!r}") from None
    if value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value}")
    return value


class EmbeddingNeighbours:
    """Cosine nearest neighbours over a loaded embedding matrix."""

    def __init__(self, ids: np.ndarray, matrix: np.ndarray):
        from graphkit.csr import IdMap

        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self.matrix = (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)
        self.ids = ids
        self.idmap = IdMap(ids)

    def query(self, vertex, k: int) -> list[tuple]:
        row = int(self.idmap.index_of([vertex])[0])
        scores = self.matrix @ self.matrix[row]
        scores[row] = -np.inf
        k = min(k, len(scores) - 1)
        top = np.argpartition(-scores, k - 1)[:k] if k > 0 else np.array([], dtype=np.int64)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i].item(), float(scores[i])) for i in top]


class QueryShell(cmd.Cmd):
    """The REPL. Artifacts are loaded once at start; each command is timed."""

    intro = "graphkit query shell: 'help' lists commands, 'quit' leaves."
    prompt = "graphkit> "

    def __init__(self, index_path, ppr_index=None, embeddings=None, stdin=None, stdout=None):
        super().__init__(stdin=stdin, stdout=stdout)
        from graphkit.lsh import LSHIndex

        started = time.perf_counter()
        self.index = LSHIndex.load(index_path)
        self.ppr = None
        self.embeddings = None
        if ppr_index:
            from graphkit.ppr import PPRIndex

            self.ppr = PPRIndex.load(ppr_index)
        if embeddings:
            from graphkit.embed import load_embeddings

            self.embeddings = EmbeddingNeighbours(*load_embeddings(embeddings))
        self.paths = {"lsh index": index_path, "ppr index": ppr_index, "embeddings": embeddings}
        self.load_seconds = time.perf_counter() - started

    # -- plumbing ---------------------------------------------------------------------------
    def say(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def onecmd(self, line: str) -> bool:
        started = time.perf_counter()
        try:
            stop = super().onecmd(line)
        except (UsageError, GraphkitError, ValueError, KeyError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            self.say(f"error: {message}")
            return False
        command = line.strip().split(" ", 1)[0] if line.strip() else ""
        if command and command in self.completenames("") and command not in ("help", "quit", "exit", "EOF"):
            self.say(f"({(time.perf_counter() - started) * 1000:.2f} ms)")
        return bool(stop)

    def default(self, line: str) -> None:
        raise UsageError(f"unknown command {line.split()[0]!r}; 'help' lists the commands")

    def emptyline(self) -> None:
        return None

    def completedefault(self, text, line, begidx, endidx):
        return []

    def _ids(self, words: list[str], minimum: int = 1) -> list[str]:
        if len(words) < minimum:
            raise UsageError("give at least one vertex id")
        return words

    def _print_scored(self, pairs: list[tuple], label: str) -> None:
        if not pairs:
            self.say("  (no answers)")
        for rank, (vertex, score) in enumerate(pairs, 1):
            self.say(f"  {rank:>3}. {vertex!s:<14} {label} {score:.4f}")

    # -- commands ---------------------------------------------------------------------------
    def do_similar(self, arg: str) -> None:
        """similar ID [K]: the K (default 10) vertices with the most similar neighbourhoods."""
        words, _ = _split(arg)
        ids = self._ids(words)
        if len(ids) > 2:
            raise UsageError("usage: similar ID [K]")
        k = _positive_int(ids[1], "K") if len(ids) == 2 else 10
        self._print_scored(self.index.similar(ids[0], k), "jaccard~")

    def do_community(self, arg: str) -> None:
        """community ID [ID ...] [size=N]: grow a community of N (default 20) from the seeds."""
        from graphkit.lsh.community import community

        words, options = _split(arg)
        unknown = set(options) - {"size"}
        if unknown:
            raise UsageError(f"unknown option {sorted(unknown)[0]!r}; usage: community ID [ID ...] [size=N]")
        size = _positive_int(options.get("size", "20"), "size")
        result = community(self.index, self._ids(words), size)
        self.say(f"  {len(result.members)} members: {' '.join(map(str, result.members))}")
        for i, part in enumerate(result.subcommunities, 1):
            self.say(f"  sub-community {i} ({len(part)}): {' '.join(map(str, part))}")

    def do_ppr(self, arg: str) -> None:
        """ppr ID [ID ...] [k=K]: personalized PageRank top-K (default 10) per source."""
        if self.ppr is None:
            raise UsageError("no PPR index loaded (start with --ppr-index PATH)")
        words, options = _split(arg)
        k = _positive_int(options.get("k", "10"), "k")
        ids = self._ids(words)
        answers = self.ppr.query(ids, k)
        for source, pairs in zip(ids, answers):
            self.say(f"  source {source}:")
            self._print_scored(pairs, "ppr")

    def do_neighbors(self, arg: str) -> None:
        """neighbors ID [K]: the K (default 10) nearest vertices in embedding space (cosine)."""
        if self.embeddings is None:
            raise UsageError("no embeddings loaded (start with --embeddings PATH)")
        words, _ = _split(arg)
        ids = self._ids(words)
        k = _positive_int(ids[1], "K") if len(ids) > 1 else 10
        self._print_scored(self.embeddings.query(ids[0], k), "cosine")

    def do_adjacent(self, arg: str) -> None:
        """adjacent ID: the graph neighbours whose set the vertex's signature summarises."""
        words, _ = _split(arg)
        neighbours = self.index.neighbors(self._ids(words)[0])
        self.say(f"  {len(neighbours)} neighbours: {' '.join(map(str, neighbours[:50]))}"
                 + (" ..." if len(neighbours) > 50 else ""))

    def do_info(self, arg: str) -> None:
        """info: what is loaded, and how long loading took."""
        self.say(f"  lsh index   {self.paths['lsh index']}: {len(self.index):,} vertices, "
                 f"{self.index.num_perm} permutations in {self.index.bands} bands x {self.index.rows} rows")
        if self.ppr is not None:
            self.say(f"  ppr index   {self.paths['ppr index']}")
        if self.embeddings is not None:
            n, d = self.embeddings.matrix.shape
            self.say(f"  embeddings  {self.paths['embeddings']}: {n:,} x {d}")
        self.say(f"  loaded in {self.load_seconds * 1000:.0f} ms")

    def do_quit(self, arg: str) -> bool:
        """quit: leave the shell (also Ctrl-D)."""
        return True

    do_exit = do_quit

    def do_EOF(self, arg: str) -> bool:  # noqa: N802 (cmd's name for end of input)
        self.say()
        return True


def run(index, ppr_index=None, embeddings=None) -> int:
    """Start the shell on the terminal, or run the commands piped to standard input."""
    shell = QueryShell(index, ppr_index, embeddings)
    if sys.stdin.isatty():
        try:
            import readline

            if HISTORY.exists():
                readline.read_history_file(HISTORY)
            readline.set_history_length(1000)
        except (ImportError, OSError):
            readline = None
        try:
            shell.cmdloop()
        except KeyboardInterrupt:
            shell.say()
        finally:
            if readline is not None:
                try:
                    readline.write_history_file(HISTORY)
                except OSError:
                    pass
        return 0
    shell.use_rawinput = False
    for line in sys.stdin:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        shell.say(f"{shell.prompt}{line}")
        if shell.onecmd(line):
            break
    return 0
