# shellcheck shell=bash
# Sourced by build-image.sh: debian_mirror prints the Debian 12 (bookworm) archive the boot lab
# builds its guest from. No address is written here: $VSPHERE_SPARK_DEBIAN_MIRROR when set, else the
# mirror (or proxy) this machine's apt already uses, in apt's own order of files:
#   1. the deb822 files sources.list.d/*.sources: the first http(s) URI of the first stanza with
#      Types deb, Suites including bookworm, and not Enabled: no;
#   2. the one-line files sources.list, then sources.list.d/*.list: the first `deb` line (options in
#      [...] allowed) whose suite is bookworm with an http(s) URI.
# So bookworm-security, bookworm-updates-only, deb-src, cdrom: and file: entries and other
# distributions' archives are never taken. Neither gives one: it fails, naming the variable and both
# places it read.
# VSPHERE_SPARK_APT_DIR (default /etc/apt) is the apt folder read; only the tests set it, to fixtures.

# deb822 stanzas on stdin; field names are case-insensitive, a line starting with a blank continues
# the field above, `#` lines are comments.
debian_mirror_deb822() {
  awk '
    function add(v) { values[field] = values[field] " " v }
    function pick(   n, i, u) {
      if (found) return
      if ((" " values["types"] " ") ~ /[ \t]deb[ \t]/ && (" " values["suites"] " ") ~ /[ \t]bookworm[ \t]/ && tolower(values["enabled"]) !~ /^[ \t]*no[ \t]*$/) {
        n = split(values["uris"], u, /[ \t]+/)
        for (i = 1; i <= n; i++) if (u[i] ~ /^https?:\/\//) { print u[i]; found = 1; return }
      }
    }
    /^[ \t]*#/ { next }
    /^[ \t]*$/ { pick(); split("", values); field = ""; next }
    /^[ \t]/ { if (field != "") add($0); next }
    { i = index($0, ":"); field = tolower(substr($0, 1, i - 1)); add(substr($0, i + 1)) }
    END { pick() }
  '
}

# One-line sources on stdin: `deb [options] uri suite component...`.
debian_mirror_one_line() {
  awk '
    found { next }
    /^[ \t]*deb[ \t]/ {
      line = $0
      sub(/^[ \t]*deb[ \t]+/, "", line)
      if (line ~ /^\[/ && !sub(/^\[[^]]*\][ \t]*/, "", line)) next
      split(line, f, /[ \t]+/)
      if (f[2] == "bookworm" && f[1] ~ /^https?:\/\//) { print f[1]; found = 1 }
    }
  '
}

debian_mirror() {
  if [ -n "${VSPHERE_SPARK_DEBIAN_MIRROR:-}" ]; then
    echo "$VSPHERE_SPARK_DEBIAN_MIRROR"
    return 0
  fi
  local apt=${VSPHERE_SPARK_APT_DIR:-/etc/apt} f uri
  for f in "$apt"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(debian_mirror_deb822 <"$f")
    if [ -n "$uri" ]; then echo "${uri%/}"; return 0; fi
  done
  for f in "$apt/sources.list" "$apt"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(debian_mirror_one_line <"$f")
    if [ -n "$uri" ]; then echo "${uri%/}"; return 0; fi
  done
  {
    echo "boot lab: no Debian 12 mirror. VSPHERE_SPARK_DEBIAN_MIRROR is unset, and this machine's apt names"
    echo "no http(s) archive for the suite bookworm (security and deb-src entries do not count) in"
    echo "  $apt/sources.list.d/*.sources (deb822: URIs: with Suites: bookworm), nor in"
    echo "  $apt/sources.list (or $apt/sources.list.d/*.list: a 'deb <URI> bookworm main' line)."
    echo "Set VSPHERE_SPARK_DEBIAN_MIRROR to the URL of a Debian 12 (bookworm) archive, or of an apt proxy for one."
  } >&2
  return 1
}
