"""Provision the GraphFrames JVM package (run by ``make setup``; idempotent).

Uses the machine's Maven to fetch the pinned coordinates into ``~/.m2`` (offline once cached),
where :mod:`graphkit.session` finds them. Maven searches the user's own configuration (Maven
Central, ``~/.m2/settings.xml`` mirrors) and then every repository listed in
``$GRAPHKIT_MAVEN_REPOS`` (comma-separated URLs or paths; the Makefile and CI point it at
``../shared/maven`` when that folder exists). When the package cannot be obtained, says so in one
clear paragraph and exits 0: graphkit runs without it, and its GraphFrames features (connected
components, the peers) and their tests report that the package is unavailable.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from graphkit import _jvm

DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:get"


def main() -> int:
    if shutil.which("java") is None:
        print("graphkit setup: error: Java is not installed; Spark needs Java 17 or 21 (e.g. apt-get install openjdk-17-jre-headless)", file=sys.stderr)
        return 1
    if _jvm.graphframes_jars():
        print(f"graphkit setup: GraphFrames JVM package {_jvm.GRAPHFRAMES_COORDINATES}: present")
        return 0
    reason = "Maven (mvn) is not installed"
    if shutil.which("mvn"):
        cmd = ["mvn", "-U", "-q", "-B", "-Dstyle.color=never", DEPENDENCY_PLUGIN, f"-Dartifact={_jvm.GRAPHFRAMES_COORDINATES}"]
        if "GRAPHKIT_M2_REPOSITORY" in os.environ:  # graphkit looks there, so Maven must put it there
            cmd.append(f"-Dmaven.repo.local={_jvm.maven_repository()}")
        extra = _jvm.extra_repositories()
        if extra:
            # Maven's own configuration is still searched; these are added after it.
            cmd.append("-DremoteRepositories=" + ",".join(
                f"graphkit-extra-{i}::default::{url}" for i, url in enumerate(extra, 1)))
        where = f" (also from {', '.join(extra)})" if extra else ""
        print(f"graphkit setup: fetching {_jvm.GRAPHFRAMES_COORDINATES} with Maven{where} ...", flush=True)
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            errors = [ln for ln in done.stdout.splitlines() + done.stderr.splitlines() if "ERROR" in ln]
            text = "\n".join(errors)
            if re.search(r"Could not find artifact|was not found in", text):
                reason = "the Maven repositories reachable from this machine do not serve it"
            else:
                reason = errors[0].replace("[ERROR]", "").strip()[:200] if errors else f"mvn exited {done.returncode}"
        except subprocess.TimeoutExpired:
            reason = "Maven timed out after 10 minutes"
        if _jvm.graphframes_jars():
            print("graphkit setup: GraphFrames JVM package installed into ~/.m2")
            return 0
    print(
        f"graphkit setup: WARNING: the GraphFrames JVM package {_jvm.GRAPHFRAMES_COORDINATES} could not be "
        f"obtained ({reason}).\n"
        "  graphkit runs without it, except for its GraphFrames features (connected components in `info`); "
        "Graph.graphframe and the GraphFrames baselines report it as missing, and their tests are skipped.\n"
        "  To enable it: make the artifact reachable through your Maven settings (~/.m2/settings.xml mirror) "
        f"or list a repository that serves it in ${_jvm.EXTRA_REPOSITORIES_ENV} (comma-separated URLs, file:// too), "
        "and re-run `make setup`; or set GRAPHKIT_GRAPHFRAMES_JARS=/path/graphframes-spark4_2.13.jar,"
        "/path/graphframes-graphx-spark4_2.13.jar",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
