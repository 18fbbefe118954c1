"""``graphkit repl``: an interactive shell over the local artifacts (no Spark).

Commands (``help`` lists them; ids are the user's ids)::

    similar ID [K]               vertices with the most similar neighbourhoods (LSH index)
    community ID [ID ...] [size=N]  grow a community from seeds; show its sub-communities
    ppr ID [ID ...] [k=K]        personalized PageRank top-k (needs --ppr-index)
    neighbors ID [K]             nearest vertices in embedding space (needs --embeddings)
    adjacent ID                  graph neighbours stored in the LSH index
    info                         what is loaded
    quit

One grammar for all (:func:`parse_line`): words split like a shell, ``name=value`` words are
options (``k=`` for similar / neighbors / ppr, ``size=`` for community; any other is an error),
the rest positional. K is at most :data:`MAX_K` and a community at most :data:`MAX_COMMUNITY`
members, checked before anything is allocated; ids go through the one parser
(:func:`graphkit.csr.parse_int_id` for integer ids).

Every answer ends with its latency. Any failure of a line (bad command, unknown id, even an
unexpected exception or running out of memory) prints one ``error: ...`` line and the shell
goes on. When standard input is not a terminal, commands are read from it (one per line), so
sessions can be scripted: ``printf 'similar 5\\n' | graphkit repl INDEX``.
"""

from __future__ import annotations

import cmd
import os
import shlex
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from graphkit.errors import GraphkitError

HISTORY = Path(os.environ.get("GRAPHKIT_HISTORY", Path.home() / ".graphkit_history"))


#: Largest K a query may ask for (answers are printed; more is never useful at a prompt).
MAX_K = 10_000
#: Largest community size (grown member by member: the cost is quadratic in it).
MAX_COMMUNITY = 10_000
#: Most vertex ids on one line.
MAX_IDS = 1_000
#: Longest line read.
MAX_LINE = 10_000


class UsageError(Exception):
    """A command typed wrongly (shown to the user, never a crash)."""


def parse_line(line: str, options: tuple[str, ...] = (), max_positional: int | None = None,
               usage: str = "") -> tuple[list[str], dict[str, str]]:
    """The one argument grammar of every command: words split like a shell (quotes keep
    blanks inside an id), ``name=value`` words are options, the others positional.

    Parameters
    ----------
    line : str
        The arguments after the command word.
    options : tuple of str
        Option names the command takes; any other option is an error.
    max_positional : int, optional
        Most positional words.
    usage : str
        Shown with every error.

    Raises
    ------
    UsageError
        Unbalanced quotes, an unknown, repeated or empty option, too many words.
    """
    hint = f"; usage: {usage}" if usage else ""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"{exc}{hint}") from None
    positional, given = [], {}
    for word in words:
        name, eq, value = word.partition("=")
        if not eq:
            positional.append(word)
            continue
        if name not in options:
            raise UsageError(f"unknown option {name!r}{hint}")
        if name in given:
            raise UsageError(f"option {name!r} given twice{hint}")
        if not value:
            raise UsageError(f"option {name!r} needs a value{hint}")
        given[name] = value
    if max_positional is not None and len(positional) > max_positional:
        raise UsageError(f"too many arguments{hint}")
    return positional, given


def bounded_int(text: str, name: str, maximum: int) -> int:
    """A positive integer of at most ``maximum``, parsed strictly (ASCII digits only)."""
    body = text.strip()
    if not (body.isascii() and body.isdigit()) or len(body) > 18:
        raise UsageError(f"{name} must be a positive integer, got {text[:40]!r}")
    value = int(body)
    if value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value}")
    if value > maximum:
        raise UsageError(f"{name} must be at most {maximum:,}, got {value:,}")
    return value


@dataclass
class QueryArtifacts:
    """Artifacts of one graph, opened together (see :func:`open_artifacts`)."""

    index: object
    ppr: object = None
    embeddings: object = None  # EmbeddingIndex
    notes: list = field(default_factory=list)


def open_artifacts(index, ppr_index=None, embeddings=None, *, allow_mixed_graphs: bool = False,
                   verify: bool | str = True) -> QueryArtifacts:
    """Open an LSH index and optionally a PPR index and embeddings, refusing a mix of graphs.

    The Python side of ``graphkit repl``: every artifact is loaded and checked, then their
    recorded graph fingerprints are compared (:func:`graphkit.artifacts.check_same_graph`).

    Parameters
    ----------
    index : str or Path
        LSH index directory.
    ppr_index, embeddings : str or Path, optional
    allow_mixed_graphs : bool, default False
        Warn instead of raising when the artifacts were built from different graphs.
    verify : {True, False, "full"}, default True

    Returns
    -------
    QueryArtifacts
        ``index`` (LSHIndex), ``ppr`` (PPRIndex or None), ``embeddings``
        (:class:`graphkit.embed.EmbeddingIndex` or None) and ``notes`` (what could not be checked,
        mismatches allowed).

    Raises
    ------
    ArtifactError
        A damaged artifact, or artifacts of different graphs without ``allow_mixed_graphs``.
    """
    from graphkit.artifacts import check_same_graph
    from graphkit.lsh import LSHIndex

    out = QueryArtifacts(LSHIndex.load(index, verify=verify))
    graphs = {f"LSH index {index}": out.index.graph_fingerprint}
    if ppr_index:
        from graphkit.ppr import PPRIndex

        out.ppr = PPRIndex.load(ppr_index, verify=verify)
        graphs[f"PPR index {ppr_index}"] = out.ppr.graph_fingerprint
    if embeddings:
        from graphkit.embed.index import EmbeddingIndex

        out.embeddings = EmbeddingIndex.load(embeddings, verify=verify)
        graphs[f"embeddings {embeddings}"] = out.embeddings.graph_fingerprint
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # returned as notes; the REPL prints them
        out.notes = check_same_graph(graphs, allow_mixed=allow_mixed_graphs)
    return out


class QueryShell(cmd.Cmd):
    """The REPL. Artifacts are loaded once at start; each command is timed.

    Parameters
    ----------
    index_path : str or Path
        LSH index directory.
    ppr_index, embeddings : str or Path, optional
    allow_mixed_graphs : bool, default False
        Serve artifacts whose recorded graph fingerprints differ (with a warning) instead of
        refusing to start.

    Raises
    ------
    ArtifactError
        An artifact fails its checks, or the artifacts were built from different graphs.
    """

    intro = "graphkit query shell: 'help' lists commands, 'quit' leaves."
    prompt = "graphkit> "

    def __init__(self, index_path, ppr_index=None, embeddings=None, stdin=None, stdout=None,
                 allow_mixed_graphs: bool = False):
        super().__init__(stdin=stdin, stdout=stdout)
        started = time.perf_counter()
        loaded = open_artifacts(index_path, ppr_index, embeddings, allow_mixed_graphs=allow_mixed_graphs)
        self.index, self.ppr, self.notes = loaded.index, loaded.ppr, loaded.notes
        self.embeddings = loaded.embeddings
        self.paths = {"lsh index": index_path, "ppr index": ppr_index, "embeddings": embeddings}
        self.load_seconds = time.perf_counter() - started

    # -- plumbing ---------------------------------------------------------------------------
    def say(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def onecmd(self, line: str) -> bool:
        """Run one line; any failure becomes one ``error: ...`` line and the session goes on."""
        started = time.perf_counter()
        try:
            if len(line) > MAX_LINE:
                raise UsageError(f"line of {len(line):,} characters (at most {MAX_LINE:,})")
            if any("\udc80" <= ch <= "\udcff" for ch in line):
                raise UsageError("the line is not valid UTF-8")
            stop = super().onecmd(line)
        except (UsageError, GraphkitError, ValueError, KeyError) as exc:
            self.say(f"error: {_one_line(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)}")
            return False
        except MemoryError:
            self.say("error: out of memory answering this command")
            return False
        except KeyboardInterrupt:  # Ctrl-C stops a long command, not the session
            self.say("error: interrupted")
            return False
        except Exception as exc:  # noqa: BLE001 - a line must never end the session
            self.say(f"error: {type(exc).__name__}: {_one_line(exc)}")
            return False
        command = line.strip().split(" ", 1)[0] if line.strip() else ""
        if command and command in self.completenames("") and command not in ("help", "quit", "exit", "EOF"):
            self.say(f"({(time.perf_counter() - started) * 1000:.2f} ms)")
        return bool(stop)

    def default(self, line: str) -> None:
        raise UsageError(f"unknown command {line.split()[0][:40]!r}; 'help' lists the commands")

    def emptyline(self) -> None:
        return None

    def completedefault(self, text, line, begidx, endidx):
        return []

    @staticmethod
    def _ids(words: list[str]) -> list[str]:
        if not words:
            raise UsageError("give at least one vertex id")
        if len(words) > MAX_IDS:
            raise UsageError(f"at most {MAX_IDS:,} vertex ids per command, got {len(words):,}")
        return words

    @staticmethod
    def _k(words: list[str], options: dict, usage: str) -> int:
        """K from ``k=K`` or a second positional word (not both)."""
        if len(words) == 2 and "k" in options:
            raise UsageError(f"K given twice; usage: {usage}")
        if "k" in options:
            return bounded_int(options["k"], "K", MAX_K)
        return bounded_int(words[1], "K", MAX_K) if len(words) == 2 else 10

    def _print_scored(self, pairs: list[tuple], label: str) -> None:
        if not pairs:
            self.say("  (no answers)")
        for rank, (vertex, score) in enumerate(pairs, 1):
            self.say(f"  {rank:>3}. {vertex!s:<14} {label} {score:.4f}")

    # -- commands ---------------------------------------------------------------------------
    def do_similar(self, arg: str) -> None:
        """similar ID [K] | similar ID k=K: the K (default 10) vertices with the most similar neighbourhoods."""
        usage = "similar ID [K]"
        words, options = parse_line(arg, ("k",), 2, usage)
        ids = self._ids(words)
        self._print_scored(self.index.similar(ids[0], self._k(ids, options, usage)), "jaccard~")

    def do_community(self, arg: str) -> None:
        """community ID [ID ...] [size=N]: grow a community of N (default 20) from the seeds."""
        from graphkit.lsh.community import community

        words, options = parse_line(arg, ("size",), MAX_IDS, "community ID [ID ...] [size=N]")
        limit = max(1, min(MAX_COMMUNITY, len(self.index)))
        size = bounded_int(options.get("size", "20"), "size", limit)
        result = community(self.index, self._ids(words), size)
        self.say(f"  {len(result.members)} members: {' '.join(map(str, result.members))}")
        for i, part in enumerate(result.subcommunities, 1):
            self.say(f"  sub-community {i} ({len(part)}): {' '.join(map(str, part))}")

    def do_ppr(self, arg: str) -> None:
        """ppr ID [ID ...] [k=K]: personalized PageRank top-K (default 10) per source."""
        words, options = parse_line(arg, ("k",), MAX_IDS, "ppr ID [ID ...] [k=K]")
        if self.ppr is None:
            raise UsageError("no PPR index loaded (start with --ppr-index PATH)")
        k = bounded_int(options.get("k", "10"), "K", MAX_K)
        ids = self._ids(words)
        answers = self.ppr.query(ids, k)
        for source, pairs in zip(ids, answers):
            self.say(f"  source {source}:")
            self._print_scored(pairs, "ppr")

    def do_neighbors(self, arg: str) -> None:
        """neighbors ID [K] | neighbors ID k=K: the K (default 10) nearest vertices in embedding space (cosine)."""
        usage = "neighbors ID [K]"
        words, options = parse_line(arg, ("k",), 2, usage)
        if self.embeddings is None:
            raise UsageError("no embeddings loaded (start with --embeddings PATH)")
        ids = self._ids(words)
        self._print_scored(self.embeddings.neighbors(ids[0], self._k(ids, options, usage)), "cosine")

    def do_adjacent(self, arg: str) -> None:
        """adjacent ID: the graph neighbours whose set the vertex's signature summarises."""
        words, _ = parse_line(arg, (), 1, "adjacent ID")
        neighbours = self.index.adjacent(self._ids(words)[0])
        self.say(f"  {len(neighbours)} neighbours: {' '.join(map(str, neighbours[:50]))}"
                 + (" ..." if len(neighbours) > 50 else ""))

    def do_info(self, arg: str) -> None:
        """info: what is loaded, and how long loading took."""
        parse_line(arg, (), 0, "info")
        self.say(f"  lsh index   {self.paths['lsh index']}: {len(self.index):,} vertices, "
                 f"{self.index.num_perm} permutations in {self.index.bands} bands x {self.index.rows} rows")
        if self.ppr is not None:
            self.say(f"  ppr index   {self.paths['ppr index']}")
        if self.embeddings is not None:
            self.say(f"  embeddings  {self.paths['embeddings']}: {len(self.embeddings):,} x {self.embeddings.dim}")
        graph = self.index.graph_fingerprint
        if graph:
            self.say(f"  graph       {graph['fingerprint']} ({graph.get('num_vertices', '?'):,} vertices, "
                     f"{graph.get('num_edges', '?'):,} edges)")
        for note in self.notes:
            self.say(f"  {note}")
        self.say(f"  loaded in {self.load_seconds * 1000:.0f} ms")

    def do_quit(self, arg: str) -> bool:
        """quit: leave the shell (also Ctrl-D)."""
        return True

    do_exit = do_quit

    def do_EOF(self, arg: str) -> bool:  # noqa: N802 (cmd's name for end of input)
        self.say()
        return True


def _one_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def run(index, ppr_index=None, embeddings=None, allow_mixed_graphs: bool = False) -> int:
    """Start the shell on the terminal, or run the commands piped to standard input.

    Lines that are not valid UTF-8 are answered with an error, like any bad command.
    """
    shell = QueryShell(index, ppr_index, embeddings, allow_mixed_graphs=allow_mixed_graphs)
    for note in shell.notes:
        print(f"graphkit: {note}", file=sys.stderr)
    if sys.stdin.isatty():
        try:
            # Undecodable bytes arrive as lone surrogates, which onecmd reports as an error.
            sys.stdin.reconfigure(errors="surrogateescape")
        except (AttributeError, ValueError):
            pass
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
    return run_script(shell, sys.stdin.buffer)


def run_script(shell: QueryShell, stream) -> int:
    """Run the commands of a binary stream, one per line (blank and ``#`` lines skipped)."""
    shell.use_rawinput = False
    for raw in stream:
        line = raw.decode("utf-8", "surrogateescape").strip()
        if not line or line.startswith("#"):
            continue
        shell.say(f"{shell.prompt}{line.encode('utf-8', 'backslashreplace').decode('utf-8')[:200]}")
        if shell.onecmd(line):
            break
    return 0
