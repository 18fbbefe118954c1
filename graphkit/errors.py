"""Typed exceptions raised by graphkit.

Every error a user can cause derives from :class:`GraphkitError`, so the command line can turn
any of them into a one-line message and a non-zero exit without hiding programming errors.
"""

from __future__ import annotations


class GraphkitError(Exception):
    """Base class for errors caused by input, configuration or environment."""


class InputFormatError(GraphkitError, ValueError):
    """A graph or label file is malformed (the message names file and line)."""


class EmptyGraphError(GraphkitError, ValueError):
    """The graph has no edges (or no vertices) where some are required."""


class UnknownVertexError(GraphkitError, KeyError):
    """A vertex id that the graph or index does not contain."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown vertex"


class ArtifactError(GraphkitError, ValueError):
    """An on-disk artifact is missing, truncated, corrupted, or of an unsupported version."""


class OutputExistsError(GraphkitError, FileExistsError):
    """The output path exists and overwriting was not requested."""


class RuntimeDependencyError(GraphkitError, RuntimeError):
    """A runtime dependency (Java, Spark, the GraphFrames JVM package) is missing."""
