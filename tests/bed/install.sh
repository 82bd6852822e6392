#!/bin/sh
# The Debian packages the test bed runs (tests/bed): installs what is missing, as root or
# with sudo, and exits at once when everything is there. Idempotent.
set -eu

need=""
command -v nginx >/dev/null 2>&1 || need="$need nginx-light"
[ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || need="$need libnginx-mod-http-echo"
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need="$need libnginx-mod-stream"
command -v dnsmasq >/dev/null 2>&1 || need="$need dnsmasq-base"
command -v tinyproxy >/dev/null 2>&1 || need="$need tinyproxy"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v curl >/dev/null 2>&1 || need="$need curl"  # the bed's own tests drive curl
command -v getent >/dev/null 2>&1 || need="$need libc-bin"

[ -z "$need" ] && exit 0

if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
echo "tests/bed/install.sh: installing$need" >&2
$sudo apt-get update -qq
# shellcheck disable=SC2086 # $need is a list of words
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need
