#!/bin/sh
# Installs ambit-cni on a Kubernetes node from the ambit image, or removes it:
#   install-cni.sh install     copy the plugin (with its own Node.js runtime) into the node's CNI bin dir and
#                              chain it into the node's primary CNI network config (waits for that config to appear)
#   install-cni.sh uninstall   take it out of the chain and remove the files
# Paths are the container's view of the node's directories (the cni DaemonSet mounts them under /host), except
# HOST_CNI_BIN_DIR, which is where the container runtime on the node will find the files.
set -eu

CNI_BIN_DIR="${CNI_BIN_DIR:-/host/opt/cni/bin}"
HOST_CNI_BIN_DIR="${HOST_CNI_BIN_DIR:-/opt/cni/bin}"
CNI_CONF_DIR="${CNI_CONF_DIR:-/host/etc/cni/net.d}"
AGENT_SOCKET="${AGENT_SOCKET:-/var/run/ambit/cni-agent.sock}"
APP_DIR="${APP_DIR:-/app}"
NODE_BIN="${NODE_BIN:-$(command -v node)}"
WAIT_SECONDS="${WAIT_SECONDS:-300}"
HERE="$(cd "$(dirname "$0")" && pwd)"

log() { echo "install-cni: $*"; }

copy_runtime() {
  # The plugin runs on the node, outside any container: it gets a Node.js binary and the exact shared libraries
  # (and dynamic loader) that binary was linked against, so the node needs neither Node.js nor matching libraries.
  bundle="$CNI_BIN_DIR/ambit-cni.d"
  staging="$CNI_BIN_DIR/.ambit-cni.d.new"
  rm -rf "$staging"
  mkdir -p "$staging/lib" "$staging/app"
  cp "$NODE_BIN" "$staging/node"
  loader=""
  for lib in $(ldd "$NODE_BIN" | awk '/=>/ { print $3 } !/=>/ && /^[ \t]*\// { print $1 }'); do
    cp -L "$lib" "$staging/lib/"
    case "$lib" in */ld-linux*) loader="$(basename "$lib")" ;; esac
  done
  [ -n "$loader" ] || { log "cannot find the dynamic loader of $NODE_BIN"; exit 1; }
  cp "$APP_DIR"/dist/src/cni/*.js "$staging/app/"
  rm -rf "$bundle"
  mv "$staging" "$bundle"
  wrapper="$CNI_BIN_DIR/.ambit-cni.new"
  cat > "$wrapper" <<WRAPPER
#!/bin/sh
# ambit's chained CNI plugin; installed by the ambit-cni DaemonSet. Its runtime is in ambit-cni.d beside it.
d="$HOST_CNI_BIN_DIR/ambit-cni.d"
exec "\$d/lib/$loader" --library-path "\$d/lib" "\$d/node" "\$d/app/ambit-cni.js" "\$@"
WRAPPER
  chmod 0755 "$wrapper"
  mv "$wrapper" "$CNI_BIN_DIR/ambit-cni"
}

wait_for_primary_config() {
  waited=0
  until node "$HERE/conflist.js" primary "$CNI_CONF_DIR" >/dev/null; do
    if [ "$waited" -ge "$WAIT_SECONDS" ]; then
      log "no CNI network config appeared in $CNI_CONF_DIR after ${WAIT_SECONDS}s; is the cluster's network plugin installed?"
      exit 1
    fi
    [ "$waited" -eq 0 ] && log "waiting for the node's network plugin to write its config into $CNI_CONF_DIR"
    sleep 1
    waited=$((waited + 1))
  done
}

case "${1:-}" in
  install)
    copy_runtime
    log "copied ambit-cni to $CNI_BIN_DIR"
    wait_for_primary_config
    file="$(node "$HERE/conflist.js" add "$CNI_CONF_DIR" "$HERE/ambit-cni.conflist" "$AGENT_SOCKET")"
    log "chained ambit-cni into $file (agent socket $AGENT_SOCKET)"
    ;;
  uninstall)
    file="$(node "$HERE/conflist.js" remove "$CNI_CONF_DIR")"
    [ -n "$file" ] && log "removed ambit-cni from $file"
    rm -rf "$CNI_BIN_DIR/ambit-cni" "$CNI_BIN_DIR/ambit-cni.d"
    log "removed ambit-cni from $CNI_BIN_DIR"
    ;;
  *)
    echo "usage: $0 install|uninstall" >&2
    exit 2
    ;;
esac
