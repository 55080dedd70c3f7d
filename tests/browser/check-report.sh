#!/usr/bin/env bash
# Renders a StormDB HTML report in headless Chromium and checks that it drew
# its charts without script errors.
#
#   tests/browser/check-report.sh [--min-charts N] REPORT.html [SCREENSHOT.png]
#
# The page marks <body> with data-charts-drawn="N" (charts drawn with data)
# and data-script-errors="N" (uncaught errors, rejected promises and sections
# that failed to render). The check passes when charts >= N (default 4, or
# $MIN_CHARTS) and errors == 0. With a second argument, a full-page PNG
# screenshot is written there as well.
#
# Exit status: 0 pass, 1 check failed, 2 usage error or chromium missing.
set -euo pipefail

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
min_charts=${MIN_CHARTS:-4}
if [[ ${1:-} == --min-charts ]]; then
  min_charts=${2:?--min-charts needs a number}
  shift 2
fi
if [[ $# -lt 1 || $# -gt 2 || ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
html=$1
png=${2:-}
[[ -f $html ]] || { echo "check-report: no such file: $html" >&2; exit 2; }
if [[ ! -x $CHROMIUM ]]; then
  echo "check-report: $CHROMIUM not found. Install it with:" >&2
  echo "  apt-get install -y chromium" >&2
  exit 2
fi

abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
# Minimal percent-encoding for the file:// URL.
url=${abs//%/%25}; url=${url// /%20}; url=${url//#/%23}; url=${url//\?/%3F}
url=file://$url
profile=$(mktemp -d)
out=$(mktemp)
err=$(mktemp)
trap 'rm -rf "$profile" "$out" "$err"' EXIT

width=1280
chrome() {
  # No network, no first-run work, a private throwaway profile, and a hard time limit.
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --virtual-time-budget=5000 --hide-scrollbars "$@" "$url"
}

rc=0
chrome --window-size=$width,900 --dump-dom >"$out" 2>"$err" || rc=$?
if (( rc != 0 )); then
  echo "check-report: FAIL: chromium exited with status $rc (124: timed out after 120 s):" >&2
  tail -n 20 "$err" >&2
  exit 1
fi

# The first <body ...> tag after </head> (scripts in the head may mention it).
body=$(sed -n '/<\/head>/,$p' "$out" | grep -o '<body[^>]*>' | head -n 1 || true)
if [[ -z $body ]]; then
  echo "check-report: FAIL: no <body> in the DOM chromium dumped (is $html an HTML file?)" >&2
  tail -n 20 "$err" >&2
  exit 1
fi
attr() { sed -n "s/.*$1=\"\([^\"]*\)\".*/\1/p" <<<"$body"; }
charts=$(attr data-charts-drawn)
errors=$(attr data-script-errors)
height=$(attr data-page-height)

fail=0
if [[ -z $errors ]]; then
  echo "check-report: FAIL: <body> has no data-script-errors attribute (the report script did not run)" >&2
  fail=1
elif [[ $errors != 0 ]]; then
  echo "check-report: FAIL: $errors script error(s) while rendering:" >&2
  # The page lists the messages in <pre id="script-errors"> (after the head).
  sed -n '/<\/head>/,$p' "$out" | sed -n '/<pre id="script-errors"/,/<\/pre>/p' |
    sed 's/.*<pre id="script-errors"[^>]*>//; s/<\/pre>.*//' | head -n 40 |
    sed 's/<[^>]*>//g; s/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&amp;/\&/g; s/^/  /' >&2
  fail=1
fi
if [[ -z $charts ]]; then
  echo "check-report: FAIL: <body> has no data-charts-drawn attribute (the report script did not run)" >&2
  fail=1
elif (( charts < min_charts )); then
  echo "check-report: FAIL: $charts chart(s) drawn with data, expected at least $min_charts" >&2
  fail=1
fi

if [[ -n $png ]]; then
  # Headless screenshots capture the window, so size it to the page (capped).
  h=${height:-3000}
  (( h > 16000 )) && h=16000
  (( h < 600 )) && h=600
  rm -f "$png"
  chrome --window-size=$width,$h --screenshot="$png" >/dev/null 2>"$err" || true
  if [[ -s $png ]]; then
    echo "check-report: screenshot written to $png (${width}x$h)"
  else
    echo "check-report: FAIL: no screenshot was written to $png" >&2
    tail -n 20 "$err" >&2
    fail=1
  fi
fi

if (( fail )); then exit 1; fi
echo "check-report: OK: $charts chart(s) drawn, 0 script errors ($html)"
