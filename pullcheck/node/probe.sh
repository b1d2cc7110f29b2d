# kubectl-pullcheck node probe (POSIX sh). Runs on the node, normally as
#   chroot /host /bin/sh -c "$(cat probe.sh)" pullcheck-probe [ARGS]
# so that it sees the node's resolver, CA bundle, proxy settings and container runtime as the kubelet does.
#
# Args:  --registry HOST (repeatable)   DNS + HTTPS reachability of https://HOST/v2/
#        --image REF (repeatable)       a real, anonymous pull through the node's runtime
#        --pull-timeout SECONDS         per pull and per HTTP check backstop (default 60)
#        --credentials-fd N             pull with the credentials read from descriptor N (3-9), one line each:
#                                       IMAGE<TAB>LABEL<TAB>base64(user:password), in the order the kubelet tries
#                                       them; an image without a line is pulled anonymously, as the kubelet does
# Env (tests run the probe without chroot):
#        PULLCHECK_ROOT        prefix of every node file read (default: none, i.e. /)
#        PULLCHECK_PROC        the proc filesystem (default /proc)
#        PULLCHECK_RUNTIME_PID / PULLCHECK_KUBELET_PID   use these processes instead of searching by name
#
# Output: one line per check on stdout, nothing else:
#   PULLCHECK<TAB>check<TAB>subject<TAB>status<TAB>base64(detail)
# status is ok | fail | warn | info | skip. Details never hold credentials: proxy URLs lose their
# user:password part and only credential-free keys of registry configs are shown.
#
# Pull credentials (--credentials-fd) are read once, at the start, into a shell variable, and the
# descriptor is closed before any other program runs. They reach the runtime tool only for the pull:
# crictl through CRICTL_AUTH in its own environment (readable by root only, /proc/PID/environ), or
# --auth when it is too old for that; ctr through --user USER:PASSWORD, which anyone on the node can
# read in /proc/PID/cmdline (and process audit logs may record) while that pull runs. nerdctl reads
# credentials only from a docker config file, which the probe does not write: it is not used with them.
# The tool's output is scrubbed of the auth string, user:password and the password before it is recorded.
# Credentials are handed on only with shell builtins (printf; dash, bash and busybox ash have it built
# in), through pipes, never as the arguments or environment of a helper process.
set -u
PROBE_VERSION=1
ROOT=${PULLCHECK_ROOT:-}
PROC=${PULLCHECK_PROC:-/proc}
PULL_TIMEOUT=60
REGISTRIES=""
IMAGES=""
CREDENTIALS_FD=""
CREDENTIALS=""
CREDENTIALS_STATE=off          # off | read | unreadable
WORK=$(mktemp -d 2>/dev/null || { mkdir -p "/tmp/pullcheck.$$" && echo "/tmp/pullcheck.$$"; })
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

have() { command -v "$1" >/dev/null 2>&1; }

record() {  # check subject status detail
    subject=$(printf '%s' "$2" | tr '\t\n' '  ')
    detail=$(printf '%s' "$4" | base64 | tr -d '\n')
    printf 'PULLCHECK\t%s\t%s\t%s\t%s\n' "$1" "$subject" "$3" "$detail"
}

redact() {  # proxy URLs: drop user:password@
    sed -e 's#\(://\)[^/@[:space:]]*@#\1***@#g'
}

find_pid() {  # process name -> first pid
    for dir in "$PROC"/[0-9]*; do
        if [ "$(cat "$dir/comm" 2>/dev/null)" = "$1" ]; then
            echo "${dir##*/}"
            return 0
        fi
    done
    return 1
}

flag_value() {  # pid flag-names... -> value of --flag=V or --flag V
    pid=$1
    shift
    tr '\0' '\n' < "$PROC/$pid/cmdline" 2>/dev/null | awk -v names="$*" '
        BEGIN { n = split(names, want, " ") }
        take { print; exit }
        { for (i = 1; i <= n; i++) {
              if ($0 == want[i]) { take = 1; next }
              if (index($0, want[i] "=") == 1) { print substr($0, length(want[i]) + 2); exit }
          } }'
}

toml_value() {  # file section key -> value (section "" = top level)
    awk -v section="$2" -v key="$3" '
        BEGIN { inside = (section == "") }
        /^[[:space:]]*\[/ { s = $0; gsub(/[[:space:]]/, "", s); inside = (s == "[" section "]"); next }
        inside && $0 ~ "^[[:space:]]*" key "[[:space:]]*=" {
            line = $0; sub(/^[^=]*=[[:space:]]*/, "", line); sub(/[[:space:]]*(#.*)?$/, "", line)
            gsub(/["\047]/, "", line); print line; exit }' "$1" 2>/dev/null
}

proxy_vars() {  # KEY=value lines on stdin -> proxy variables, lower-case keys, unquoted, sorted, redacted
    sed -n -e 's/^[[:space:]]*export[[:space:]]\{1,\}//' \
        -e '/^[[:space:]]*\([Hh][Tt][Tt][Pp][Ss]\{0,1\}\|[Nn][Oo]\|[Aa][Ll][Ll]\)_[Pp][Rr][Oo][Xx][Yy]=/p' \
        | sed -e 's/^[[:space:]]*//' -e "s/[\"']//g" \
        | awk -F= '{ key = tolower($1); sub(/^[^=]*=/, ""); print key "=" $0 }' | sort -u | redact
}

# ---------------------------------------------------------------------------------------------- args
while [ $# -gt 0 ]; do
    if [ $# -lt 2 ]; then
        record probe args fail "missing value after $1"
        exit 2
    fi
    case $1 in
        --registry) REGISTRIES="$REGISTRIES $2" ;;
        --image) IMAGES="$IMAGES $2" ;;
        --pull-timeout) PULL_TIMEOUT=$2 ;;
        --credentials-fd) CREDENTIALS_FD=$2 ;;
        *) record probe args fail "unknown argument: $1"; exit 2 ;;
    esac
    shift 2
done
if [ -n "$CREDENTIALS_FD" ]; then
    case $CREDENTIALS_FD in
        [3-9]) ;;
        *) record probe args fail "--credentials-fd takes a descriptor from 3 to 9, not $CREDENTIALS_FD"; exit 2 ;;
    esac
    # read once and close, so that no program started below inherits the descriptor
    if CREDENTIALS=$(eval "cat <&$CREDENTIALS_FD" 2>/dev/null); then
        CREDENTIALS_STATE=read
    else
        CREDENTIALS_STATE=unreadable
    fi
    eval "exec $CREDENTIALS_FD<&-"
fi
if ! have base64; then
    printf 'PULLCHECK\tprobe\tstart\tfail\t\n'
    exit 3
fi
record probe start info "version $PROBE_VERSION on $(uname -n 2>/dev/null)"
record arch node info "$(uname -m 2>/dev/null)"

# ---------------------------------------------------------------------------------------------- runtime
RUNTIME=none
RUNTIME_PID=${PULLCHECK_RUNTIME_PID:-}
if [ -n "$RUNTIME_PID" ]; then
    RUNTIME=$(cat "$PROC/$RUNTIME_PID/comm" 2>/dev/null)
    case $RUNTIME in containerd|crio) ;; *) RUNTIME=none ;; esac
elif RUNTIME_PID=$(find_pid containerd); then
    RUNTIME=containerd
elif RUNTIME_PID=$(find_pid crio); then
    RUNTIME=crio
fi

SOCKET=""
IMAGE_FS=""
CONFIG_PATH=""
case $RUNTIME in
    containerd)
        CONFIG=$(flag_value "$RUNTIME_PID" --config -c)
        CONFIG=${CONFIG:-/etc/containerd/config.toml}
        SOCKET=$(toml_value "$ROOT$CONFIG" grpc address)
        SOCKET=${SOCKET:-/run/containerd/containerd.sock}
        IMAGE_FS=$(toml_value "$ROOT$CONFIG" "" root)
        IMAGE_FS=${IMAGE_FS:-/var/lib/containerd}
        record runtime containerd ok "pid $RUNTIME_PID
config $CONFIG
socket $SOCKET"
        if [ -f "$ROOT$CONFIG" ]; then
            CONFIG_PATH=$(sed -n "s/^[[:space:]]*config_path[[:space:]]*=[[:space:]]*[\"']\([^\"']*\)[\"'].*/\1/p" \
                "$ROOT$CONFIG" | head -n 1)
            record containerd-config "$CONFIG" info "$(grep -E \
                '^[[:space:]]*(config_path|endpoint)[[:space:]]*=|registry\.mirrors' "$ROOT$CONFIG")"
        else
            record containerd-config "$CONFIG" info "absent: containerd defaults (no mirrors, no config_path)"
        fi
        for dir in $(printf '%s' "$CONFIG_PATH" | tr ':' ' '); do
            for hosts in "$ROOT$dir"/*/hosts.toml; do
                [ -f "$hosts" ] || continue
                name=${hosts%/hosts.toml}
                record hosts-toml "${name##*/}" info "$dir/${name##*/}/hosts.toml
$(grep -E '^[[:space:]]*(server|\[host|capabilities|skip_verify|ca|override_path)' "$hosts")"
            done
        done
        ;;
    crio)
        SOCKET=/var/run/crio/crio.sock
        IMAGE_FS=/var/lib/containers/storage
        record runtime crio ok "pid $RUNTIME_PID
socket $SOCKET"
        ;;
    *)
        record runtime none warn "no containerd or crio process found in $PROC"
        ;;
esac
if [ "$RUNTIME" = crio ] || [ -e "$ROOT/etc/crio" ]; then
    found=""
    for conf in "$ROOT/etc/containers/registries.conf" "$ROOT"/etc/containers/registries.conf.d/*.conf; do
        [ -f "$conf" ] || continue
        found="$found${conf#"$ROOT"}
$(grep -E '^[[:space:]]*(unqualified-search-registries|location|prefix|insecure|blocked|\[\[registry)' "$conf")
"
    done
    if [ -n "$found" ]; then
        record crio-registries registries.conf info "$found"
    else
        record crio-registries registries.conf warn "no /etc/containers/registries.conf: short names cannot resolve"
    fi
fi

# ---------------------------------------------------------------------------------------------- proxies
proxy_vars < "$ROOT/etc/environment" > "$WORK/env-proxy" 2>/dev/null || : > "$WORK/env-proxy"
: > "$WORK/runtime-proxy"
if [ "$RUNTIME" != none ]; then
    # unredacted copy for the HTTP checks below; only the redacted form is ever printed
    tr '\0' '\n' < "$PROC/$RUNTIME_PID/environ" 2>/dev/null | sed -n \
        '/^\([Hh][Tt][Tt][Pp][Ss]\{0,1\}\|[Nn][Oo]\|[Aa][Ll][Ll]\)_[Pp][Rr][Oo][Xx][Yy]=/p' > "$WORK/runtime-env"
    proxy_vars < "$WORK/runtime-env" > "$WORK/runtime-proxy"
    record runtime-proxy "$RUNTIME" info "$(cat "$WORK/runtime-proxy")"
fi
record etc-environment-proxy /etc/environment info "$(cat "$WORK/env-proxy")"
if [ ! -s "$WORK/env-proxy" ] && [ ! -s "$WORK/runtime-proxy" ]; then
    record proxy-compare "$RUNTIME" ok "no proxy variables, in the runtime or in /etc/environment"
elif cmp -s "$WORK/env-proxy" "$WORK/runtime-proxy"; then
    record proxy-compare "$RUNTIME" ok "the runtime's proxy variables match /etc/environment"
elif [ -s "$WORK/env-proxy" ]; then
    record proxy-compare "$RUNTIME" warn "the runtime's proxy variables differ from /etc/environment
(system services do not read /etc/environment: set them in the runtime's unit)
runtime:
$(cat "$WORK/runtime-proxy")
/etc/environment:
$(cat "$WORK/env-proxy")"
else
    record proxy-compare "$RUNTIME" info "the runtime has proxy variables that /etc/environment does not set"
fi

# ---------------------------------------------------------------------------------------------- kubelet
KUBELET_PID=${PULLCHECK_KUBELET_PID:-}
[ -n "$KUBELET_PID" ] || KUBELET_PID=$(find_pid kubelet) || KUBELET_PID=""
if [ -n "$KUBELET_PID" ]; then
    provider=$(flag_value "$KUBELET_PID" --image-credential-provider-config)
    bin_dir=$(flag_value "$KUBELET_PID" --image-credential-provider-bin-dir)
    if [ -n "$provider" ]; then
        record credential-provider kubelet info "config $provider
bin-dir $bin_dir"
    else
        record credential-provider kubelet info "none: the kubelet has no --image-credential-provider-config"
    fi
else
    record credential-provider kubelet skip "no kubelet process found"
fi

# ---------------------------------------------------------------------------------------------- disk
if [ -n "$IMAGE_FS" ]; then
    target=$ROOT$IMAGE_FS
    while [ ! -e "$target" ] && [ "$target" != "/" ] && [ -n "$target" ]; do target=$(dirname "$target"); done
    df -Pk "$target" 2>/dev/null | awk -v dir="$IMAGE_FS" 'NR == 2 {
        used = $5; sub(/%/, "", used)
        status = (used + 0 >= 85 || $4 < 1048576) ? "warn" : "ok"
        printf "%s\t%s\t%.1f GiB available, %s used, on %s\n", status, dir, $4 / 1048576, $5, $6 }' > "$WORK/df"
    if [ -s "$WORK/df" ]; then
        IFS=$(printf '\t') read -r status dir detail < "$WORK/df"
        record image-fs "$dir" "$status" "$detail"
    else
        record image-fs "$IMAGE_FS" skip "df failed"
    fi
fi

# ---------------------------------------------------------------------------------------------- registries
with_runtime_env() {  # run a command with the runtime's own proxy variables (what its pulls use)
    (
        unset http_proxy https_proxy no_proxy all_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY ALL_PROXY
        while IFS= read -r assignment; do export "$assignment"; done < "$WORK/runtime-env" 2>/dev/null
        "$@"
    )
}

http_check() {  # check url -> record; 0: the server answered HTTP, 2: TCP worked but TLS failed, 1: other
    if have curl; then
        code=$(with_runtime_env curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 10 \
            --max-time "$PULL_TIMEOUT" "$2" 2>"$WORK/http-err")
        rc=$?
        tool=curl
    elif have wget; then
        tries=""
        wget --help 2>&1 | grep -q -- '--tries' && tries="--tries=1"
        with_runtime_env wget $tries -S -O /dev/null -T 10 "$2" >"$WORK/http-out" 2>&1
        rc=$?
        code=$(grep -o 'HTTP/[0-9.]* [0-9][0-9][0-9]' "$WORK/http-out" | tail -n 1 | awk '{ print $2 }')
        grep -v '^  ' "$WORK/http-out" | grep -v '^--' | grep -v '^ *$' > "$WORK/http-err"
        tool=wget
    else
        record "$1" "$host" skip "neither curl nor wget on the node"
        return 1
    fi
    code=${code:-000}
    if [ "$code" != "000" ]; then
        record "$1" "$host" ok "via $tool
exit $rc
http_status $code"
        return 0
    fi
    record "$1" "$host" fail "via $tool
exit $rc
http_status 000

$(tail -n 5 "$WORK/http-err")"
    if [ "$tool:$rc" = curl:35 ] || grep -Eqi 'ssl|tls|handshake' "$WORK/http-err"; then
        return 2
    fi
    return 1
}

for host in $REGISTRIES; do
    name=${host%:*}
    case $host in \[*) name=${host%]*}; name=${name#[} ;; *:*:*) name=$host ;; esac
    if printf '%s' "$name" | grep -Eq '^([0-9]+\.){3}[0-9]+$|:'; then
        record dns "$host" skip "IP address"
    elif have getent; then
        if answer=$(getent hosts "$name" 2>&1); then
            record dns "$host" ok "$answer"
        else
            record dns "$host" fail "getent hosts $name: no address (exit $?)"
        fi
    elif have nslookup; then
        if answer=$(nslookup "$name" 2>&1); then
            record dns "$host" ok "$answer"
        else
            record dns "$host" fail "$answer"
        fi
    else
        record dns "$host" skip "neither getent nor nslookup on the node"
    fi
    # a TLS failure may mean a plain-HTTP registry: say whether http:// answers
    http_check https "https://$host/v2/"
    [ $? -eq 2 ] && http_check http "http://$host/v2/"
done

# ---------------------------------------------------------------------------------------------- pulls
pull_tool=""
if have crictl && [ "$RUNTIME" != none ]; then
    pull_tool=crictl
elif have ctr && [ "$RUNTIME" = containerd ]; then
    pull_tool=ctr
elif have nerdctl && [ "$RUNTIME" = containerd ]; then
    pull_tool=nerdctl
fi
case $CREDENTIALS_STATE in
    read) record credentials "fd $CREDENTIALS_FD" info "$(printf '%s\n' "$CREDENTIALS" | awk -F '\t' '
              NF >= 3 { n++; images[$1] = 1 } END { m = 0; for (i in images) m++
              printf "%d credential(s) for %d image(s); images without one are pulled anonymously\n", n, m }')" ;;
    unreadable) record credentials "fd $CREDENTIALS_FD" fail \
                    "cannot read the credentials from descriptor $CREDENTIALS_FD" ;;
esac
CRICTL_ENV_AUTH=no
if [ "$pull_tool" = crictl ] && [ "$CREDENTIALS_STATE" = read ] && crictl pull --help 2>&1 | grep -q CRICTL_AUTH; then
    CRICTL_ENV_AUTH=yes
fi

credential_field() {  # image attempt field-number -> that field of the image's attempt-th credential line
    printf '%s\n' "$CREDENTIALS" | awk -F '\t' -v image="$1" -v want="$2" -v field="$3" '
        NF >= 3 && $1 == image && ++seen == want { print $field; exit }'
}

scrub() {  # file auth user:password -> the file with the auth string, user:password and password as ***
    if { printf '%s\n%s\n%s\n' "$2" "$3" "${3#*:}"; cat "$1"; } | awk '
        NR <= 3 { if (length($0) > 0) secret[NR] = $0; next }
        { line = $0
          for (k = 1; k <= 3; k++) {
              if (!(k in secret)) continue
              out = ""
              while ((at = index(line, secret[k])) > 0) {
                  out = out substr(line, 1, at - 1) "***"
                  line = substr(line, at + length(secret[k]))
              }
              line = out line
          }
          print line }' > "$1.clean"; then
        cat "$1.clean" > "$1"
    else
        echo "(output withheld: it could not be scrubbed of the credentials)" > "$1"
    fi
    rm -f "$1.clean"
}

pull_once() {  # image [base64(user:password)] -> exit code; output in $WORK/pull-out and $WORK/pull-err
    pull_image=$1
    auth=${2:-}
    userpass=""
    [ -n "$auth" ] && userpass=$(printf '%s' "$auth" | base64 -d 2>/dev/null)
    limit=""
    have timeout && limit="timeout $PULL_TIMEOUT"
    : > "$WORK/pull-out"
    case $pull_tool in
        crictl)
            set -- --runtime-endpoint "unix://$SOCKET" --image-endpoint "unix://$SOCKET" --timeout "${PULL_TIMEOUT}s"
            if [ -z "$auth" ]; then
                $limit crictl "$@" pull "$pull_image" >"$WORK/pull-out" 2>"$WORK/pull-err"
            elif [ "$CRICTL_ENV_AUTH" = yes ]; then
                CRICTL_AUTH=$auth $limit crictl --debug=false "$@" pull "$pull_image" \
                    >"$WORK/pull-out" 2>"$WORK/pull-err"
            else
                $limit crictl --debug=false "$@" pull --auth "$auth" "$pull_image" >"$WORK/pull-out" 2>"$WORK/pull-err"
            fi
            rc=$? ;;
        ctr)
            set -- --address "$SOCKET" --timeout "${PULL_TIMEOUT}s" -n k8s.io images pull
            [ -n "$CONFIG_PATH" ] && set -- "$@" --hosts-dir "$CONFIG_PATH"
            if [ -n "$auth" ] && { [ -z "${userpass%%:*}" ] || [ -z "${userpass#*:}" ] \
                                   || [ "${userpass#*:}" = "$userpass" ]; }; then
                echo "ctr cannot pull with an empty user name or password (it would prompt for one)" > "$WORK/pull-err"
                rc=1
            else
                [ -n "$userpass" ] && set -- "$@" --user "$userpass"
                $limit ctr "$@" "$pull_image" </dev/null >"$WORK/pull-out" 2>"$WORK/pull-err"
                rc=$?
            fi ;;
        nerdctl)
            $limit nerdctl --address "$SOCKET" -n k8s.io pull "$pull_image" </dev/null \
                >"$WORK/pull-out" 2>"$WORK/pull-err"
            rc=$? ;;
    esac
    if [ -n "$auth" ]; then
        scrub "$WORK/pull-out" "$auth" "$userpass"
        scrub "$WORK/pull-err" "$auth" "$userpass"
    fi
    auth=""
    userpass=""
    [ -s "$WORK/pull-err" ] || cp "$WORK/pull-out" "$WORK/pull-err"
    return $rc
}

for image in $IMAGES; do
    if [ -z "$pull_tool" ]; then
        record pull "$image" skip "no crictl, ctr or nerdctl for runtime $RUNTIME on the node"
        continue
    fi
    if [ "$CREDENTIALS_STATE" = unreadable ]; then
        record pull "$image" skip \
            "not pulled: the credentials could not be read (an anonymous pull says nothing about them)"
        continue
    fi
    attempts=0
    if [ "$CREDENTIALS_STATE" = read ]; then
        attempts=$(printf '%s\n' "$CREDENTIALS" | awk -F '\t' -v image="$image" 'NF >= 3 && $1 == image { n++ }
            END { print n + 0 }')
    fi
    if [ "$attempts" -gt 0 ] && [ "$pull_tool" = nerdctl ]; then
        record pull "$image" skip "not pulled: nerdctl takes credentials only from a docker config file, \
which the probe does not write (crictl or ctr would be used)"
        continue
    fi
    started=$(date +%s)
    attempt=0
    source=none
    earlier=""
    while :; do
        attempt=$((attempt + 1))
        if [ "$attempts" -gt 0 ]; then
            source=$(credential_field "$image" "$attempt" 2)
            pull_once "$image" "$(credential_field "$image" "$attempt" 3)"
        else
            pull_once "$image"
        fi
        rc=$?
        [ "$rc" -eq 0 ] || [ "$attempt" -ge "$attempts" ] && break
        earlier="${earlier}attempt $attempt with $source: $(grep -v 'level=' "$WORK/pull-err" \
            | grep -v '^[[:space:]]*$' | tail -n 1 | redact)
"
    done
    seconds=$(( $(date +%s) - started ))
    auth_fields=""
    if [ "$CREDENTIALS_STATE" = read ]; then
        auth_fields="
auth $source"
        [ "$attempts" -gt 1 ] && auth_fields="$auth_fields
attempt $attempt of $attempts"
    fi
    if [ "$rc" -eq 0 ]; then
        record pull "$image" ok "via $pull_tool
exit 0
seconds $seconds$auth_fields${earlier:+

$earlier}"
    else
        record pull "$image" fail "via $pull_tool
exit $rc
seconds $seconds$auth_fields

$earlier$(tail -n 20 "$WORK/pull-err" | redact)"
    fi
done
record probe end ok ""
