# Sourced by the benchmark scripts. `need_apt COMMAND PACKAGE` installs Debian's PACKAGE when COMMAND is missing,
# as root or through sudo; it fails when it cannot.
need_apt() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "installing $2 (for $1)" >&2
  local as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq >/dev/null &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
