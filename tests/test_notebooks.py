"""Every notebook in notebooks/ runs top to bottom, and is stored in git with outputs stripped."""


import pytest

from tests.conftest import DATASETS, ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
pytestmark = pytest.mark.slow


def test_the_three_capability_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == [
        "01_personalized_pagerank.ipynb", "02_embeddings.ipynb", "03_communities.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; strip them before committing"


def _execute(path):
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    # allow_errors=False: the first failing cell raises CellExecutionError, failing the test.
    # The kernel inherits this process's environment (GRAPHKIT_DATASETS).
    client.allow_errors = False
    client.execute()
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 1, "every notebook shows at least one plot"
    first = "".join(o.get("text", "") for o in nb.cells[1].get("outputs", []) if o.get("name") == "stdout")
    return nb, first


def test_a_failing_cell_fails_the_run(tmp_path):
    """The check above can fail: a notebook whose cell raises does not pass ``_execute``."""
    import nbclient
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('data: x')"),
                                         nbformat.v4.new_code_cell("raise ValueError('planted failure')")])
    path = tmp_path / "failing.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="planted failure"):
        _execute(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, monkeypatch):
    import nbformat

    if not DATASETS.is_dir():
        pytest.skip(f"data set folder {DATASETS} is absent")
    monkeypatch.setenv("GRAPHKIT_DATASETS", str(DATASETS))  # the folder the tests use, wherever the checkout is
    nb, first = _execute(path)
    assert first.startswith("data: ") and "demo graph" not in first, first
    out = ROOT / "out" / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out / path.name)  # executed copy, for people (and reviewers) to look at


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_without_shared_datasets(path, monkeypatch, tmp_path):
    """A newcomer without ../shared: the notebook says so and runs on the embedded demo graph."""
    monkeypatch.setenv("GRAPHKIT_DATASETS", str(tmp_path / "absent"))
    _, first = _execute(path)
    assert "shared data sets not found" in first and "embedded demo graph" in first, first
