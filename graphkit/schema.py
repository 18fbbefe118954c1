"""Column names of the graph model, shared by every Spark-side module (no imports)."""

#: vertices: ``id`` (dense long ``0..n-1``), ``name`` (the user's id); edges: ``src``, ``dst``, ``weight``
ID, NAME, SRC, DST, WEIGHT = "id", "name", "src", "dst", "weight"
COMPONENT = "component"
