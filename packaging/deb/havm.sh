#!/bin/bash
# /usr/bin/havm: the havm command (highly available VMs on KVM), as the Debian package installs it.
# Runs io.havm.api.Main from the jars in /usr/share/havm on a Java 17+ runtime.
#   JAVA            the java binary to use (default: java on PATH)
#   HAVM_JAVA_OPTS  JVM options (e.g. -Xmx512m); the services take it from /etc/default/havm
#   HAVM_LOG        log level on stderr: WARN (default), INFO, DEBUG
#   HAVM_RESIDENT   0: group and node commands never use the resident client (below)
# havm.home is where havm finds its vm-templates (VM files' "template:" and "kernel: guest").
set -u
share=/usr/share/havm
# HAVM_JAVA_OPTS holds several options: split on purpose.
# shellcheck disable=SC2206
havm_java=("${JAVA:-java}" ${HAVM_JAVA_OPTS:-})
# the class-data-sharing archive the package made of what a command loads (postinst, cds-archive):
# a command starts faster from it; one that does not fit this JVM is ignored without a word
archive=/var/cache/havm/havm.jsa
[[ -r $archive ]] && havm_java+=(-XX:SharedArchiveFile="$archive" -Xlog:disable)
havm_java+=(-Dhavm.home="$share")
havm_cp="$share/havm.jar:$share/lib/*"
case "${1:-}" in
  group | node)
    # through this user's resident client when one serves this version, else in a JVM of its own
    # that then starts one (HAVM_RESIDENT=0 turns it off)
    # shellcheck source=../resident.bash
    source "$share/resident.bash"
    havm_resident_or_own "$@"
    ;;
esac
case "${1:-}" in
  # a command of seconds: the quick compiler alone; the agent, ZooKeeper, a drill keep the full one
  group | node | status | events | config | vm | storage | guest-cluster | help | completion | --version | --help | -h)
    havm_java+=(-XX:TieredStopAtLevel=1) ;;
esac
exec "${havm_java[@]}" -cp "$havm_cp" io.havm.api.Main "$@"
