#!/usr/bin/env bash
# Installs Apache RocketMQ (the Java NameServer, broker and mqadmin) from Maven Central into a
# cache outside the repository, and writes launch wrappers for it. Idempotent: a version whose
# wrappers exist is left alone (about 0.1 s).
#
#   scripts/rocketmq-reference.sh [--force] [LINE ...]
#
# LINE is `4` (the 4.x line) or `5` (the 5.3 line); default both. For each it prints one line
# `ROCKETMQ_JAVA_<LINE>=<dir>` on stdout (everything else goes to stderr), where <dir> holds
#
#   bin/namesrv [-c namesrv.properties]        org.apache.rocketmq.namesrv.NamesrvStartup
#   bin/broker  -c broker.conf [-n ADDR]       org.apache.rocketmq.broker.BrokerStartup
#   bin/mqadmin COMMAND [args]                 org.apache.rocketmq.tools.command.MQAdminStartup
#   home/conf/  the logback files 4.x reads ($ROCKETMQ_HOME; 5.x has its own in its jars)
#   VERSION     the server version, and TOOLS_VERSION the mqadmin one
#
# Versions: Maven Central serves rocketmq-namesrv / rocketmq-broker 4.x only up to 4.9.7 (4.9.8
# was published for the client and tools, not the servers), so the 4.x line is servers 4.9.7 with
# mqadmin from rocketmq-tools 4.9.8; the 5.3 line is 5.3.3 throughout. Override with
# ROCKETMQ4_SERVER_VERSION, ROCKETMQ4_TOOLS_VERSION, ROCKETMQ5_VERSION.
#
# The wrappers `exec java` (the wrapper's pid is the JVM's) with a heap sized for a 2-core /
# 24 GiB machine: servers -Xms512m -Xmx512m -XX:MaxDirectMemorySize=512m, mqadmin -Xmx256m.
# JAVA_HEAP (e.g. "-Xms1g -Xmx1g") and JAVA_OPTS_EXTRA override / add. Logs go to
# $ROCKETMQ_LOG_DIR (default: ./logs of the current directory). Bind to loopback through the
# configuration: broker.conf `brokerIP1=127.0.0.1`, `namesrvAddr=127.0.0.1:PORT`,
# `listenPort=PORT`; namesrv.properties `listenPort=PORT`.
#
# Env: SLUICE_CACHE (default ~/.cache/sluice); the jars land in ~/.m2 (Maven's cache) as well as
# in <dir>/lib.
set -euo pipefail

CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}/rocketmq"
V4_SERVER="${ROCKETMQ4_SERVER_VERSION:-4.9.7}"
V4_TOOLS="${ROCKETMQ4_TOOLS_VERSION:-4.9.8}"
V5="${ROCKETMQ5_VERSION:-5.3.3}"
FORCE=0
LINES=()
for a in "$@"; do
    case "$a" in
    --force) FORCE=1 ;;
    4 | 5) LINES+=("$a") ;;
    -h | --help)
        sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "rocketmq-reference.sh: unknown argument $a (want 4, 5 or --force)" >&2
        exit 2
        ;;
    esac
done
[[ ${#LINES[@]} -eq 0 ]] && LINES=(4 5)

say() { echo "rocketmq-reference.sh: $*" >&2; }
die() {
    echo "rocketmq-reference.sh: ERROR: $*" >&2
    exit 1
}

# A fresh machine may lack them: Debian's packages (Java 17 runs both RocketMQ lines).
need=()
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
if [[ ${#need[@]} -gt 0 ]]; then
    command -v apt-get >/dev/null || die "need ${need[*]} and apt-get is not available"
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    say "apt-get install ${need[*]}"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >&2 || die "apt-get install ${need[*]} failed"
fi

# Java 9+ closes the JDK internals RocketMQ 4.x reaches into (MappedFile's buffer cleaner,
# fastjson); 5.x needs a few of them too. Harmless where unused.
OPENS=(
    --add-opens=java.base/java.lang=ALL-UNNAMED
    --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens=java.base/java.util=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
    --add-opens=java.base/java.nio=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED
    --add-opens=java.base/java.net=ALL-UNNAMED
    --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
    --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED
)

# fetch DIR ARTIFACT:VERSION... : resolves the artifacts and their dependencies into DIR.
fetch() {
    local dir="$1"
    shift
    mkdir -p "$dir"
    {
        echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        echo '<groupId>sluice.reference</groupId><artifactId>rocketmq</artifactId><version>1</version>'
        echo '<packaging>pom</packaging><dependencies>'
        local spec
        for spec in "$@"; do
            echo "<dependency><groupId>org.apache.rocketmq</groupId><artifactId>${spec%%:*}</artifactId><version>${spec##*:}</version></dependency>"
        done
        echo '</dependencies></project>'
    } >"$dir/pom.xml"
    rm -rf "$dir/lib"
    say "resolving $* into $dir/lib (Maven)"
    (cd "$dir" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$dir/lib" -DincludeScope=runtime >&2) ||
        die "mvn could not resolve $* (see above)"
}

logback() { # FILE NAME: a logback config writing NAME.log under $ROCKETMQ_LOG_DIR, WARN to stderr
    cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>\${rocketmq.log.dir}/$2.log</file>
    <append>true</append>
    <encoder><pattern>%d{yyy-MM-dd HH:mm:ss.SSS} %-5p %t %c{0} - %m%n</pattern></encoder>
  </appender>
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter"><level>WARN</level></filter>
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5p %c{0} - %m%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/><appender-ref ref="STDERR"/></root>
</configuration>
EOF
}

# wrapper FILE LIBDIR MAINCLASS HEAP: a launcher that execs the JVM.
wrapper() {
    local file="$1" lib="$2" main="$3" heap="$4" home="$5" logcfg=""
    # 4.x configures logback from this file ($ROCKETMQ_HOME/conf/logback_<role>.xml, role
    # namesrv, broker or tools); 5.x ships its own (shaded) logback configuration in its jars.
    if [[ -n "${6:-}" ]]; then
        logcfg="-Dlogback.configurationFile=\"\$ROCKETMQ_HOME/conf/logback_$6.xml\" "
    fi
    cat >"$file" <<EOF
#!/usr/bin/env bash
# Written by scripts/rocketmq-reference.sh: runs $main.
set -euo pipefail
export ROCKETMQ_HOME="\${ROCKETMQ_HOME:-$home}"
LOG_DIR="\${ROCKETMQ_LOG_DIR:-\$PWD/logs}"
mkdir -p "\$LOG_DIR"
exec java -server \${JAVA_HEAP:-$heap} ${OPENS[*]} \\
    -Drocketmq.log.dir="\$LOG_DIR" -Duser.home="\${ROCKETMQ_USER_HOME:-\$HOME}" \\
    -Drocketmq.client.logRoot="\$LOG_DIR" -Drocketmq.client.logUseSlf4j=false \\
    $logcfg\\
    -Djava.net.preferIPv4Stack=true -Dfile.encoding=UTF-8 \${JAVA_OPTS_EXTRA:-} \\
    -cp "$lib/*" $main "\$@"
EOF
    chmod +x "$file"
}

install_line() {
    local line="$1" dir server tools
    if [[ $line == 4 ]]; then
        server="$V4_SERVER" tools="$V4_TOOLS"
    else
        server="$V5" tools="$V5"
    fi
    dir="$CACHE/$server-tools-$tools"
    if [[ $FORCE == 0 && -x "$dir/bin/namesrv" && -x "$dir/bin/broker" && -x "$dir/bin/mqadmin" ]]; then
        echo "ROCKETMQ_JAVA_$line=$dir"
        return
    fi
    say "installing Apache RocketMQ $server (mqadmin $tools) into $dir"
    rm -rf "$dir/bin"
    fetch "$dir/server" "rocketmq-namesrv:$server" "rocketmq-broker:$server"
    # A classpath of its own: rocketmq-common etc. of the tools' version, not the servers'.
    fetch "$dir/tools" "rocketmq-tools:$tools"
    mkdir -p "$dir/home/conf" "$dir/bin"
    logback "$dir/home/conf/logback_namesrv.xml" namesrv
    logback "$dir/home/conf/logback_broker.xml" broker
    logback "$dir/home/conf/logback_tools.xml" tools
    local srv_heap="-Xms512m -Xmx512m -Xmn256m -XX:MaxDirectMemorySize=512m -XX:+UseG1GC"
    local roles=(namesrv broker tools)
    [[ $line == 5 ]] && roles=("" "" "")
    wrapper "$dir/bin/namesrv" "$dir/server/lib" org.apache.rocketmq.namesrv.NamesrvStartup \
        "-Xms256m -Xmx256m -XX:+UseG1GC" "$dir/home" "${roles[0]}"
    wrapper "$dir/bin/broker" "$dir/server/lib" org.apache.rocketmq.broker.BrokerStartup \
        "$srv_heap" "$dir/home" "${roles[1]}"
    wrapper "$dir/bin/mqadmin" "$dir/tools/lib" org.apache.rocketmq.tools.command.MQAdminStartup \
        "-Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1" "$dir/home" "${roles[2]}"
    echo "$server" >"$dir/VERSION"
    echo "$tools" >"$dir/TOOLS_VERSION"
    echo "ROCKETMQ_JAVA_$line=$dir"
}

for l in "${LINES[@]}"; do
    install_line "$l"
done
