#!/usr/bin/env bash
# Compiles a Maven project of ours (a pinned RocketMQ Java client plus our sources) into BUILD,
# with the Maven repository M2: offline when that repository already holds everything, online
# (Maven Central) the first time. A no-op when the pom and sources are unchanged (a stamp of
# their hash). Prints the project's classpath (classes first) as the last line on stdout;
# progress goes to stderr. Installs a JDK and Maven when missing.
#
#   scripts/java-build.sh PROJECT_DIR BUILD_DIR M2_DIR CLASS_FILE
#   (CLASS_FILE: a class the build must produce, relative to BUILD_DIR/classes)
set -euo pipefail

[ "$#" -eq 4 ] || { echo "usage: $0 PROJECT_DIR BUILD_DIR M2_DIR CLASS_FILE" >&2; exit 2; }
SRC="$1" BUILD="$2" M2="$3" CLASS="$4"
say() { echo "java-build: $*" >&2; }
die() { echo "java-build: ERROR: $*" >&2; exit 1; }

if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  "$(dirname "$0")/setup.sh" default-jdk-headless maven >&2
fi
major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
[ "${major%%.*}" -ge 17 ] 2>/dev/null || die "Java >= 17 needed; found ${major:-none}"

stamp="$BUILD/.sluice-stamp"
want="$(cd "$SRC" && find pom.xml src -type f \( -name '*.java' -o -name pom.xml \) | sort | xargs sha256sum | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ] || [ ! -s "$BUILD/classpath.txt" ]; then
  build() {
    nice -n 10 mvn -q -B "$@" -f "$SRC/pom.xml" -Dmaven.repo.local="$M2" -Dsluice.build.dir="$BUILD" \
      compile dependency:build-classpath -Dmdep.outputFile="$BUILD/classpath.txt" >&2
  }
  say "building $SRC into $BUILD (Maven repository $M2)"
  if ! build -o 2>/dev/null; then
    say "offline Maven build failed: resolving the dependencies online"
    build || die "Maven build of $SRC failed"
  fi
  echo "$want" >"$stamp"
fi
[ -f "$BUILD/classes/$CLASS" ] || die "$BUILD/classes has no $CLASS"
echo "$BUILD/classes:$(cat "$BUILD/classpath.txt")"
