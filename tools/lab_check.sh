#!/usr/bin/env bash
# `make lab` serves JupyterLab: start it as the README says, on a free port with a token of our
# own, ask it for its status, the notebook the course opens first and its kernel list, then stop
# it (and everything it started).  Usage: tools/lab_check.sh [PYTHON] [VENV]
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}
venv=${2:-.venv}
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=$("$python" -c 'import secrets; print(secrets.token_hex(16))')
log=$(mktemp)
setsid make lab PYTHON="$python" VENV="$venv" \
  LAB_ARGS="--port=$port --ServerApp.port_retries=0 --IdentityProvider.token=$token" \
  > "$log" 2>&1 < /dev/null &
pid=$!
stop() { kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"; }
trap stop EXIT
get() { "$venv/bin/python" - "$1" "$token" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": f"token {sys.argv[2]}"})
with urllib.request.urlopen(req, timeout=10) as r:
    sys.stdout.write(r.read().decode(errors="replace"))
PY
}
base="http://127.0.0.1:$port"
for _ in $(seq 600); do   # the first `make lab` installs the venv: up to a few minutes
  if ! kill -0 "$pid" 2>/dev/null; then cat "$log" >&2; echo "make lab exited" >&2; exit 1; fi
  get "$base/api/status" >/dev/null 2>&1 && break
  sleep 0.5
done
get "$base/api/status" >/dev/null || { cat "$log" >&2; echo "make lab did not answer" >&2; exit 1; }
get "$base/lab/tree/00_index.ipynb" | grep -q jupyter-config-data
kernel=$(get "$base/api/kernelspecs" | "$venv/bin/python" -c 'import json, sys; d = json.load(sys.stdin); print(d["default"], " ".join(d["kernelspecs"][d["default"]]["spec"]["argv"][:1]))')
echo "make lab PYTHON=$python: JupyterLab $("$venv/bin/jupyter-lab" --version) answers on 127.0.0.1 with a token; kernel: $kernel ($("$venv/bin/python" --version))"
