# shellcheck shell=bash
# The resident client, the launchers' side (./havm, and /usr/bin/havm from the Debian package,
# source this for `group` and `node` commands). io.havm.api.Resident is the JVM's side and says
# the protocol. A command goes to this user's warm JVM when one serves this version of havm: it
# then costs a request instead of a JVM's start, its class loading and a TLS handshake (0.6 s on a
# 2-core host). Otherwise it runs in a JVM of its own, and a resident is started after it for the
# next command. HAVM_RESIDENT=0 turns it off; a resident exits after 10 minutes without a request.
#
# The caller sets:
#   havm_java  the java command with its options (array): the CDS archive, havm.home, HAVM_JAVA_OPTS
#   havm_cp    the class path, havm's jar first (its size and time are the resident's version)

havm_resident_or_own() { # ARGS...: runs the command and exits; returns at once when turned off
  [[ ${HAVM_RESIDENT:-1} != 0 && -z ${HAVM_DEBUG:-} ]] || return 0
  local rdir=${HAVM_RESIDENT_DIR:-${XDG_RUNTIME_DIR:-/tmp}/havm-resident-$(id -u)} identity rc=0
  identity=$(stat -c %s-%Y "${havm_cp%%:*}") || return 0
  havm_resident_run "$rdir" "$identity" "$@"
  # this command in a JVM of its own, then a resident for the next (after it: not competing for the CPU)
  "${havm_java[@]}" -XX:TieredStopAtLevel=1 -cp "$havm_cp" io.havm.api.Main "$@" || rc=$?
  havm_resident_start "$rdir" "$identity"
  exit "$rc"
}

havm_resident_run() { # RDIR IDENTITY ARGS...: returns when the resident did not take the command (nothing ran)
  local rdir=$1 identity=$2 ep=$1/endpoint port secret ident pid a prev= line rc= tty=0
  shift 2
  [[ -d $rdir && ! -L $rdir && -O $rdir && -f $ep && ! -L $ep && -O $ep ]] || return 0
  read -r port secret ident pid <"$ep" || return 0
  [[ $ident == "$identity" && $port =~ ^[0-9]+$ ]] || return 0
  local args=()
  for a in "$@"; do
    [[ $a == *$'\n'* ]] && return 0 # the protocol is a line per argument
    # the resident's directory is not the user's: --config becomes absolute
    if [[ $prev == --config && $a != /* ]]; then
      a=$PWD/$a
    elif [[ $a == --config=* && ${a#--config=} != /* ]]; then
      a=--config=$PWD/${a#--config=}
    fi
    args+=("$a")
    prev=$a
  done
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 0
  [[ -t 0 && -t 1 ]] && tty=1
  if ! printf '%s\n' "$secret" "$tty" "${HAVM_API_TOKEN:-}" "${#args[@]}" "${args[@]}" >&3 2>/dev/null \
    || ! IFS= read -r -t 5 -u 3 line || [[ $line != a* ]]; then
    exec 3<&- # refused (stale, not its command) or not a resident at all: nothing ran
    return 0
  fi
  # accepted: from here the command is the resident's; it must never run a second time
  while IFS= read -r -u 3 line; do
    case ${line:0:1} in
      o) printf '%s\n' "${line:2}" ;;
      p) printf '%s' "${line:2}" ;;
      e) printf '%s\n' "${line:2}" >&2 ;;
      f) printf '%s' "${line:2}" >&2 ;;
      x) rc=${line:2}; break ;;
    esac
  done
  exec 3<&-
  if [[ -z $rc ]]; then
    echo "havm $1: the resident client (pid $pid) ended before the command did; what it asked of the" \
      "cluster stays asked (havm events says what became of it)" >&2
    exit 1
  fi
  exit "$rc"
}

havm_resident_start() { # RDIR IDENTITY: a resident in the background (one per directory: it takes RDIR/lock)
  local rdir=$1 identity=$2
  # this user's own directory, never a link someone else left in /tmp (chmod would follow it)
  [[ -L $rdir ]] && return 0
  mkdir -p -m 700 "$rdir" 2>/dev/null && [[ ! -L $rdir && -O $rdir ]] && chmod 700 "$rdir" || return 0
  # a throw-away loopback certificate: the resident warms itself up with ci/cds-archive's training
  # command against a stand-in API of its own (io.havm.api.CdsTraining), then deletes it
  rm -rf "$rdir/warm" && mkdir -m 700 "$rdir/warm" && openssl req -x509 -newkey ec -pkeyopt \
    ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$rdir/warm/key.pem" -out "$rdir/warm/cert.pem" >/dev/null 2>&1 || rm -rf "$rdir/warm"
  setsid "${havm_java[@]}" -Xmx256m -XX:+UseSerialGC -cp "$havm_cp" io.havm.api.Resident "$rdir" "$identity" \
    </dev/null >"$rdir/log" 2>&1 &
}
