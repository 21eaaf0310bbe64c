#!/usr/bin/env bash
# The whole test suite, from a fresh clone: dependencies, the system
# packages the tests use (openssh-server for the SSH suite, nghttp2-client's
# h2load for the non-reading-client attack, iproute2 for the network
# namespace of the protected-mode test, prometheus to scrape --metrics-addr,
# awscli to change moto behind the provider's back in the watch suite), the OpenStack
# testbed (a real OpenStack on loopback, from providers/openstack/testbed),
# then `bun test`. Ends with one line "N passed, N failed".
#   npm test                      everything
#   npm test -- shared/server     only matching test files (no testbed unless asked)
#   SKYCLUST_KEEPALIVE_IDLE_MS=15000 npm test    shorter keepalive idle (default: the real minute)
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh || exit 1
BUN=node_modules/.bin/bun
mkdir -p .tmp

missing=()
if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then missing+=(openssh-server); fi
if ! command -v h2load >/dev/null 2>&1; then missing+=(nghttp2-client); fi
if ! command -v ip >/dev/null 2>&1; then missing+=(iproute2); fi
if [ ! -x /usr/bin/prometheus ]; then missing+=(prometheus); fi
if ! command -v aws >/dev/null 2>&1; then missing+=(awscli); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "test: installing ${missing[*]} (real sshd, h2load, network namespaces, Prometheus, the AWS CLI)" >&2
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}") >&2 || exit 1
  else
    echo "test: run as root or install ${missing[*]} first" >&2; exit 1
  fi
fi

bash scripts/install-container-engine.sh || echo "test: no container engine; scripts/container.test.ts skips and says why" >&2

TESTBED=providers/openstack/testbed/testbed.sh
started_testbed=0
needs_testbed=1
if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -q openstack; then needs_testbed=0; fi
if [ "$needs_testbed" = 1 ]; then
  if [ ! -x "$TESTBED" ]; then echo "test: $TESTBED not found (the OpenStack suite needs it)" >&2; exit 1; fi
  if ! "$TESTBED" status | grep -q "8774 up"; then
    echo "test: starting the OpenStack testbed (first time: several minutes)" >&2
    "$TESTBED" start > .tmp/testbed-start.log 2>&1 || { tail -30 .tmp/testbed-start.log >&2; exit 1; }
    started_testbed=1
  fi
fi
stop_testbed() { if [ "$started_testbed" = 1 ]; then "$TESTBED" stop > .tmp/testbed-stop.log 2>&1 || true; fi; }
trap stop_testbed EXIT

"$BUN" test --timeout 120000 "$@" 2>&1 | tee .tmp/test-output.txt
status=${PIPESTATUS[0]}
passed=$(grep -Eo '^ *[0-9]+ pass$' .tmp/test-output.txt | tail -1 | grep -Eo '[0-9]+' || echo 0)
failed=$(grep -Eo '^ *[0-9]+ fail$' .tmp/test-output.txt | tail -1 | grep -Eo '[0-9]+' || echo 0)
echo "${passed} passed, ${failed} failed"
exit "$status"
