"""The query REPL driven as a script (stdin not a terminal) over real local artifacts."""

import subprocess
import sys

from graphkit import io
from tests.conftest import ROOT, dataset


def test_scripted_session_answers_and_survives_bad_commands(tmp_path):
    from graphkit.lsh import LSHIndex
    from graphkit.lsh.evaluation import exact_jaccard

    graph = io.load_csr(dataset("email_eu_core", "email-Eu-core.txt"))
    LSHIndex.from_graph(graph, keep_graph=True).save(tmp_path / "lsh")
    script = "info\nsimilar 5 3\ncommunity 1 2 size=8\nbogus 1\nsimilar 123456789\nsimilar 5 zero\nppr 1\nadjacent 0\nquit\nsimilar 5\n"
    done = subprocess.run(
        [sys.executable, "-m", "graphkit.cli", "repl", str(tmp_path / "lsh")],
        input=script, capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "1,005 vertices" in out
    assert "error: unknown command 'bogus'" in out
    assert "error: unknown vertex id 123456789" in out
    assert "error: K must be a positive integer" in out
    assert "error: no PPR index loaded" in out
    assert out.rstrip().splitlines()[-1] == "graphkit> quit"  # the command after quit never ran
    # the top answer of `similar 5 3` is the true most-Jaccard-similar vertex (up to estimate ties)
    answer = out.split("graphkit> similar 5 3")[1].splitlines()[1].split()
    exact = exact_jaccard(graph, graph.index_of([5])).toarray()[0]
    exact[graph.index_of([5])[0]] = 0
    assert exact[graph.index_of([int(answer[1])])[0]] >= sorted(exact)[-3]
    assert out.count(" ms)") >= 4  # every answered command shows its latency
    neighbours = set(graph.ids[graph.neighbors(graph.index_of([0])[0])].tolist())
    listed = out.split("graphkit> adjacent 0")[1].splitlines()[1].split(":", 1)[1].split()
    assert set(map(int, listed)) == neighbours


def test_scripted_neighbors_answer_from_the_embedding_index(tmp_path):
    from graphkit.embed import EmbeddingIndex, embed_csr, save_embeddings
    from graphkit.fingerprint import csr_fingerprint
    from graphkit.lsh import LSHIndex

    graph = io.load_csr(dataset("email_eu_core", "email-Eu-core.txt"))
    LSHIndex.from_graph(graph, keep_graph=True).save(tmp_path / "lsh")
    ids, x = embed_csr(graph, dim=8, seed=0)
    save_embeddings(ids, x, tmp_path / "emb", graph=csr_fingerprint(graph))
    script = "info\nneighbors 5 3\nneighbors 123456789\nquit\n"
    done = subprocess.run(
        [sys.executable, "-m", "graphkit.cli", "repl", str(tmp_path / "lsh"), "--embeddings", str(tmp_path / "emb")],
        input=script, capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"embeddings  {tmp_path / 'emb'}: 1,005 x 8" in out
    assert "error: unknown vertex id 123456789" in out
    lines = out.split("graphkit> neighbors 5 3")[1].splitlines()[1:4]
    expected = EmbeddingIndex.load(tmp_path / "emb").neighbors(5, 3)
    assert [(line.split()[1], line.split()[-1]) for line in lines] == [(str(v), f"{s:.4f}") for v, s in expected]
