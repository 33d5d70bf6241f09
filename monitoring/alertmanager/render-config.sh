#!/bin/sh
# Renders monitoring/alertmanager.yml with the webhook URLs from the
# environment (Alertmanager does not expand variables itself).
#
#   render-config.sh IN OUT
#
# Replaces https://pager.webhook.invalid/, https://team.webhook.invalid/,
# https://ticket.webhook.invalid/ and https://security.webhook.invalid/ with
# ZEROTRACE_ALERT_PAGER_WEBHOOK_URL, ZEROTRACE_ALERT_TEAM_WEBHOOK_URL,
# ZEROTRACE_ALERT_TICKET_WEBHOOK_URL and ZEROTRACE_ALERT_SECURITY_WEBHOOK_URL.
# POSIX sh + awk only, so it runs in the busybox-based prom/alertmanager image.
# Writes OUT with mode 600: it holds secrets; keep it out of the repository.
set -eu

if [ "$#" -ne 2 ]; then
    echo "usage: $0 IN OUT" >&2
    exit 64
fi
in=$1
out=$2

for name in PAGER TEAM TICKET SECURITY; do
    var="ZEROTRACE_ALERT_${name}_WEBHOOK_URL"
    eval "value=\${$var:-}"
    case "$value" in
        "")
            echo "render-config: $var is not set" >&2
            exit 1 ;;
        *"'"* | *" "* | *"	"*)
            echo "render-config: $var must not contain quotes or whitespace" >&2
            exit 1 ;;
        http://* | https://*) ;;
        *)
            echo "render-config: $var must be an http(s) URL" >&2
            exit 1 ;;
    esac
done

umask 077
# index/substr instead of sub(): a URL's '&' or '\' must stay literal.
awk '
    BEGIN { n = split("pager team ticket security", keys, " ") }
    {
        for (i = 1; i <= n; i++) {
            placeholder = "https://" keys[i] ".webhook.invalid/"
            value = ENVIRON["ZEROTRACE_ALERT_" toupper(keys[i]) "_WEBHOOK_URL"]
            while ((p = index($0, placeholder)) > 0)
                $0 = substr($0, 1, p - 1) value substr($0, p + length(placeholder))
        }
        print
    }
' "$in" > "$out.tmp"

if grep -Eq 'https://(pager|team|ticket|security)\.webhook\.invalid/' "$out.tmp"; then
    echo "render-config: placeholders left in $out" >&2
    rm -f "$out.tmp"
    exit 1
fi
mv "$out.tmp" "$out"
