#!/usr/bin/env bash
# The container engine scripts/container.test.ts builds and runs the images
# with, from Debian's packages (idempotent, quiet; needs root, like the
# openssh-server install in scripts/test.sh):
#   - podman + runc (this machine's cgroup layout needs runc; crun refuses it),
#     debootstrap (the test assembles a Debian root standing in for the
#     oven/bun build image, which no registry here can serve);
#   - Docker Compose v2, the implementation the README documents. Debian 12's
#     compose tools cannot read our files: podman-compose 1.0.3 and
#     docker-compose 1.29 reject the `!override`/`!reset` tags of
#     docker-compose.sandbox.yml (Compose 2.24.4+), and podman-compose 1.0.3
#     wraps a CMD health check in /bin/sh, which distroless has not. Debian 13's
#     docker-compose package (a static Go binary) runs on Debian 12; it is
#     fetched with a private apt configuration, so the system's package sources
#     and installed packages stay Debian 12's, and unpacked as a Docker CLI
#     plugin. It talks to podman's Docker-compatible API socket.
# Prints nothing when everything is already there.
set -euo pipefail

COMPOSE_DIR=/usr/local/lib/docker/cli-plugins
COMPOSE="$COMPOSE_DIR/docker-compose"
COMPOSE_SUITE=trixie

say() { echo "install-container-engine: $*" >&2; }

need_root() {
  if [ "$(id -u)" != 0 ]; then say "run as root to install $1"; exit 1; fi
}

missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  need_root "${missing[*]}"
  say "installing ${missing[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends podman runc debootstrap >/dev/null
fi

compose_ok() {
  [ -x "$COMPOSE" ] && "$COMPOSE" version --short 2>/dev/null | grep -Eq '^v?2\.'
}
if ! compose_ok; then
  need_root "docker-compose"
  say "installing Docker Compose v2 (Debian $COMPOSE_SUITE's docker-compose package)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/x"
  chmod -R a+rX "$work"
  # The Debian mirror this machine's own sources use (the one serving Debian 12's main).
  mirror=$(apt-get indextargets --format '$(REPO_URI) $(CODENAME) $(COMPONENT) $(ORIGIN)' 'Identifier: Packages' |
    awk -v c="$(. /etc/os-release && echo "$VERSION_CODENAME")" '$2 == c && $3 == "main" && $4 == "Debian" { print $1; exit }')
  if [ -z "$mirror" ]; then say "no Debian mirror in this machine's apt sources"; exit 1; fi
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $COMPOSE_SUITE main" > "$work/sources.list"
  apt_private=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Dir::State::status=/dev/null
    -o APT::Sandbox::User=root)
  apt-get "${apt_private[@]}" update -qq >/dev/null
  (cd "$work" && apt-get "${apt_private[@]}" download -qq docker-compose >/dev/null)
  dpkg-deb -x "$work"/docker-compose_*.deb "$work/x"
  mkdir -p "$COMPOSE_DIR"
  install -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$COMPOSE"
  compose_ok || { say "$COMPOSE does not run"; exit 1; }
fi
