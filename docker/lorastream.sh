#!/bin/sh
# Entry point of the lorastream image: runs the launcher with the given subcommand and arguments.
# JAVA_OPTS adds JVM flags (heap, GC); everything else is configured with LORASTREAM_* variables.
set -e
# shellcheck disable=SC2086 # JAVA_OPTS is a list of flags
exec java ${JAVA_OPTS} -Dai.djl.offline=true -jar /app/lorastream.jar "$@"
