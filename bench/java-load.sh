#!/usr/bin/env bash
# Builds the Java client load of `sluice bench broker` (load java; bench/java: Apache
# RocketMQ's rocketmq-client 4.9.8) into ${SLUICE_INTEROP_CACHE:-~/.cache/sluice}/bench-java,
# sharing the Maven repository the interop tests fill (scripts/java-build.sh). The last line
# on stdout is JAVA_LOAD_CP=<classpath>; progress goes to stderr.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${SLUICE_INTEROP_CACHE:-$HOME/.cache/sluice}"
cp="$("$HERE/../scripts/java-build.sh" "$HERE/java" "$CACHE/bench-java" "$CACHE/m2" sluice/bench/Load.class)"
echo "JAVA_LOAD_CP=$cp"
