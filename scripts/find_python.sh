#!/usr/bin/env bash
# Print the path of a Python interpreter of the wanted minor version(s), or fail with one clear line.
# Usage: find_python.sh <env-var-name> <version> [<version> ...]
# Order: the named environment variable, then pythonX.Y on PATH, then pyenv's X.Y.* installs.
set -u
var="$1"; shift
wanted=("$@")
matches() {  # is "$1" an interpreter of one of the wanted versions?
  local v
  v=$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || return 1
  for w in "${wanted[@]}"; do [ "$v" = "$w" ] && return 0; done
  return 1
}
candidates=()
[ -n "${!var:-}" ] && candidates+=("${!var}")
pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
command -v pyenv >/dev/null 2>&1 && pyenv_root="$(pyenv root 2>/dev/null || echo "$pyenv_root")"
for w in "${wanted[@]}"; do  # preference order: each wanted version on PATH, then pyenv's newest of it
  command -v "python$w" >/dev/null 2>&1 && candidates+=("$(command -v "python$w")")
  for p in $(ls -d "$pyenv_root"/versions/"$w".* 2>/dev/null | sort -V -r); do
    candidates+=("$p/bin/python")
  done
done
for c in "${candidates[@]}"; do
  if matches "$c"; then echo "$c"; exit 0; fi
done
echo "error: no Python ${wanted[*]} found (set $var, put python${wanted[0]} on PATH, or install it with pyenv)" >&2
exit 1
