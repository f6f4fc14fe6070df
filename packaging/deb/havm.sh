#!/bin/sh
# /usr/bin/havm: the havm command (highly available VMs on KVM), as the Debian package installs it.
# Runs io.havm.api.Main from the jars in /usr/share/havm on a Java 17+ runtime.
#   JAVA            the java binary to use (default: java on PATH)
#   HAVM_JAVA_OPTS  JVM options (e.g. -Xmx512m); the services take it from /etc/default/havm
#   HAVM_LOG        log level on stderr: WARN (default), INFO, DEBUG
# havm.home is where havm finds its vm-templates (VM files' "template:" and "kernel: guest").
share=/usr/share/havm
# HAVM_JAVA_OPTS holds several options: split on purpose.
# shellcheck disable=SC2086
exec "${JAVA:-java}" $HAVM_JAVA_OPTS -Dhavm.home="$share" -cp "$share/havm.jar:$share/lib/*" \
    io.havm.api.Main "$@"
