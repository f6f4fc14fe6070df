# usage2man.awk: turns `havm --help` (io.havm.api.Main.USAGE) into the roff of havm(1)'s COMMANDS
# section. ci/package runs it at build time, so the man page is always the CLI's own help.
#
# The help's layout, which this reads:
#   usage: havm COMMAND ...                  (skipped: the page has its own SYNOPSIS)
#     SYNOPSIS  DESCRIPTION                  an entry: indent 2; two or more spaces end the synopsis
#         | more synopsis                    indent 3..19: the synopsis goes on
#                                 more text  indent 20 or more (38 today): the description goes on
# Each entry becomes a paragraph: its synopsis lines in bold, its description indented below.

function roff(s) {
    gsub(/\\/, "\\e", s)
    gsub(/-/, "\\-", s)
    if (s ~ /^[.']/) s = "\\&" s
    return s
}

function flush() {
    if (nsyn == 0) return
    print ".PP"
    for (i = 1; i <= nsyn; i++) {
        if (i > 1) print ".br"
        print ".B " roff(syn[i])
    }
    if (desc != "") {
        print ".RS"
        print roff(desc)
        print ".RE"
    }
    nsyn = 0
    desc = ""
}

/^usage:/ { next }
/^[ \t]*$/ { next }

{
    indent = match($0, /[^ ]/) - 1
    text = substr($0, indent + 1)
    if (indent == 2) {
        flush()
        gap = match(text, /  +/)
        if (gap) {
            syn[++nsyn] = substr(text, 1, gap - 1)
            rest = substr(text, gap)
            sub(/^ +/, "", rest)
            desc = rest
        } else {
            syn[++nsyn] = text
        }
    } else if (indent >= 20) {
        desc = (desc == "" ? text : desc "\n" text)
    } else if (nsyn > 0) {
        syn[++nsyn] = text
    } else {
        printf "usage2man: line %d: text before the first command: %s\n", NR, $0 > "/dev/stderr"
        bad = 1
        exit 1
    }
}

END {
    if (bad) exit 1
    flush()
    if (NR < 2) {
        print "usage2man: no help text on stdin" > "/dev/stderr"
        exit 1
    }
}
