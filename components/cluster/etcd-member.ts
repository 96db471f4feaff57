/**
 * The control planes' etcd membership as the bootstrap sees it: one script, written onto every
 * control plane (ETCD_MEMBER_SCRIPT_PATH) and run verbatim by the real-systems lab against a real
 * etcd cluster (test/lab/etcd-membership.lab.ts).
 *
 * Why it exists (kubernetes/kubernetes, cmd/kubeadm/app):
 * - `kubeadm join --control-plane` announces its etcd member (cmd/phases/join/controlplanejoin.go →
 *   phases/etcd/local.go CreateStackedEtcdStaticPodManifestFile: AddMember / AddMemberAsLearner with
 *   peer URL `https://<advertiseAddress>:2380`, util/etcd GetPeerURL) in its last phase, after
 *   kubelet-start wrote /etc/kubernetes/kubelet.conf. A join that fails or loses power after that
 *   leaves a member the cluster counts (a voter once promoted) but that never started.
 * - `kubeadm reset` (cmd/phases/reset/removeetcdmember.go) only warns when it cannot remove the
 *   member ("please manually remove this etcd member using etcdctl") and empties /var/lib/etcd
 *   anyway; a retried join then announces a second member with the same peer URL.
 * So before any reset the bootstrap removes its own member itself, through the other members, or
 * does not reset at all.
 *
 * It speaks etcd's v3 JSON gateway (POST /v3/cluster/member/list, /v3/cluster/member/remove,
 * /v3/maintenance/status, /v3/maintenance/transfer-leadership; GET /health), which every etcd 3.4+ serves on its client URL, with Python's standard library only:
 * control planes carry no etcdctl, and python3 is there wherever cloud-init runs (it is written in it).
 * A member is this node's when one of its peer URLs is this node's (what kubeadm announced); a
 * member of another node is never removed. etcd itself refuses a removal that would leave fewer
 * started members than the new quorum (`--strict-reconfig-check`, on by default).
 */

export const ETCD_MEMBER_SCRIPT_PATH = "/usr/local/sbin/vsphere-spark-etcd-member";

/** Exit codes of the script (the bootstrap branches on them). */
export const ETCD_MEMBER_EXIT = {
  ok: 0,
  /** `others`: no member besides this node. */
  none: 1,
  usage: 2,
  /** No endpoint answered: membership unknown, do not reset. */
  unknown: 3,
  /** The removal was refused or failed: do not reset, give up. */
  refused: 4,
} as const;

/** kubeadm's peer URL for a control plane (util/etcd GetPeerURL: https, port 2380). */
export function etcdPeerUrl(address: string): string {
  return `https://${address}:2380`;
}
/** kubeadm's client URL for a control plane (util/etcd GetClientURL: https, port 2379). */
export function etcdClientUrl(address: string): string {
  return `https://${address}:2379`;
}

/**
 * The etcd v3 JSON gateway client both guest scripts share (this one and the snapshot script,
 * etcd-backup.ts): Python's standard library only, kubeadm's client certificate. `call` is a unary
 * request; `stream` yields the messages of a server-streaming one (grpc-gateway writes one JSON
 * object per line, `{"result": ...}` or `{"error": ...}`).
 */
export const ETCD_CLIENT_PY = String.raw`import argparse, hashlib, json, os, ssl, struct, sys, time, urllib.error, urllib.request


def log(msg):
    print(os.path.basename(sys.argv[0]) + ": " + msg, file=sys.stderr, flush=True)


class Etcd:
    def __init__(self, a):
        self.timeout = a.timeout
        self.ctx = None
        if a.cacert:
            self.ctx = ssl.create_default_context(cafile=a.cacert)
            if a.cert:
                self.ctx.load_cert_chain(a.cert, a.key)

    def call(self, endpoint, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(endpoint.rstrip("/") + path, data=data, method="GET" if body is None else "POST")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.ctx) as r:
                return json.loads(r.read().decode() or "{}")
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                text = json.loads(text).get("error") or json.loads(text).get("message") or text
            except ValueError:
                pass
            raise RuntimeError("%s%s: HTTP %d: %s" % (endpoint, path, e.code, text))

    def stream(self, endpoint, path, body):
        req = urllib.request.Request(endpoint.rstrip("/") + path, data=json.dumps(body).encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        try:
            r = urllib.request.urlopen(req, timeout=self.timeout, context=self.ctx)
        except urllib.error.HTTPError as e:
            raise RuntimeError("%s%s: HTTP %d: %s" % (endpoint, path, e.code, e.read().decode(errors="replace")))
        with r:
            for line in r:
                line = line.strip()
                if not line:
                    continue
                msg = json.loads(line.decode())
                if "error" in msg:
                    raise RuntimeError("%s%s: %s" % (endpoint, path, msg["error"].get("message") or msg["error"]))
                yield msg.get("result", {})

    def members(self, endpoint):
        return self.call(endpoint, "/v3/cluster/member/list", {}).get("members", [])

    def healthy(self, endpoint):
        try:
            return self.call(endpoint, "/health").get("health") == "true"
        except Exception as e:  # noqa: BLE001 - any failure is "not healthy"
            log("%s/health: %s" % (endpoint, e))
            return False
`;

export const ETCD_MEMBER_SCRIPT = String.raw`#!/usr/bin/python3
"""vsphere-spark-etcd-member: this node's etcd membership, as the other members see it.

Generated by vsphere-spark (components/cluster/etcd-member.ts). Usage:
  vsphere-spark-etcd-member COMMAND --self-peer-url URL --endpoints URL[,URL...]
                            [--cacert F --cert F --key F] [--timeout SECONDS]
COMMAND:
  status  print the members each endpoint reports (JSON); exit 0, or 3 when none answered
  others  exit 0 when a member other than this node exists, 1 when none does, 3 when none answered
  leave   remove this node's member (matched by its peer URL) through the endpoints; exit 0 when
          it is not (or no longer) a member, 3 when no endpoint answered (membership unknown:
          do not reset), 4 when etcd refused or the removal failed (do not reset)
The endpoints are client URLs of etcd members (for leave: the OTHER control planes').
"""
${ETCD_CLIENT_PY}

def survey(etcd, endpoints):
    """Each endpoint that answered, with the member list it reported."""
    seen = {}
    for ep in endpoints:
        try:
            seen[ep] = etcd.members(ep)
        except Exception as e:  # noqa: BLE001 - an endpoint that does not answer is skipped
            log("%s: no member list (%s)" % (ep, e))
    return seen


def is_self(member, peer):
    return peer in (member.get("peerURLs") or [])


def hand_over(etcd, mine, healthy):
    """When this node's member leads, hand its leadership to a healthy other voter first (etcd's
    MoveLeader, POST /v3/maintenance/transfer-leadership, served by the leader only): removed as
    the leader, it would leave the rest without a live leader for an election timeout. The same
    rule as decideLeadershipHandoff (components/cluster/retire.ts). Failing is logged, not fatal:
    the removal keeps quorum either way."""
    ids = [str(m.get("ID")) for m in mine]
    voters = {}
    leader = "0"
    for ep in healthy:
        try:
            st = etcd.call(ep, "/v3/maintenance/status", {})
        except Exception as e:  # noqa: BLE001 - a member that does not answer takes no leadership
            log("%s: no status (%s)" % (ep, e))
            continue
        leader = str(st.get("leader") or leader)
        me = str((st.get("header") or {}).get("member_id") or "")
        if me and me not in ids and not st.get("isLearner"):
            voters.setdefault(me, ep)
    if leader not in ids:
        return
    if not voters:
        log("this node's member leads and no healthy other voter answered: removing it as the leader")
        return
    target = next(iter(voters))
    urls = [u for m in mine if str(m.get("ID")) == leader for u in (m.get("clientURLs") or [])]
    try:
        if not urls:
            raise RuntimeError("it lists no client URL")
        etcd.call(urls[0], "/v3/maintenance/transfer-leadership", {"targetID": target})
    except Exception as e:  # noqa: BLE001 - see above
        log("could not hand leadership to %s (%s): removing this node's member as the leader" % (target, e))
        return
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            now = str(etcd.call(voters[target], "/v3/maintenance/status", {}).get("leader") or "0")
        except Exception:  # noqa: BLE001 - asked again
            now = "0"
        if now != "0" and now not in ids:
            log("this node's member led: leadership moved to %s before its removal" % now)
            return
        time.sleep(0.2)
    log("leadership did not move within 10 s: removing this node's member as the leader")


def describe(m):
    return "%s (id %s, %s%s)" % (m.get("name") or "unstarted", m.get("ID"), ",".join(m.get("peerURLs") or []), ", learner" if m.get("isLearner") else "")


def main():
    p = argparse.ArgumentParser(add_help=True)
    p.add_argument("command", choices=["status", "others", "leave"])
    p.add_argument("--self-peer-url", required=True)
    p.add_argument("--endpoints", required=True)
    p.add_argument("--cacert")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--timeout", type=float, default=5.0)
    a = p.parse_args()
    endpoints = [e for e in a.endpoints.split(",") if e]
    try:
        etcd = Etcd(a)
    except Exception as e:  # noqa: BLE001 - without a usable client certificate nobody can be asked
        log("cannot load the etcd client credentials (%s): membership unknown" % e)
        return 3
    seen = survey(etcd, endpoints)
    if not seen:
        log("no etcd endpoint answered (%s): membership unknown" % ",".join(endpoints))
        return 3
    members = {}
    for ms in seen.values():
        for m in ms:
            members[str(m.get("ID"))] = m
    mine = [m for m in members.values() if is_self(m, a.self_peer_url)]
    others = [m for m in members.values() if not is_self(m, a.self_peer_url)]

    if a.command == "status":
        print(json.dumps({"answered": sorted(seen), "self": mine, "others": others}, indent=1))
        return 0
    if a.command == "others":
        for m in others:
            print(describe(m))
        return 0 if others else 1

    # leave
    if not mine:
        log("%s is not an etcd member (asked %s)" % (a.self_peer_url, ",".join(sorted(seen))))
        return 0
    healthy = [ep for ep in seen if etcd.healthy(ep)]
    if not healthy:
        log("this node is member %s, but no other member is healthy: not removing it" % describe(mine[0]))
        return 4
    hand_over(etcd, mine, healthy)
    for m in mine:
        log("removing this node's etcd member %s through %s" % (describe(m), healthy[0]))
        # etcd answers "unhealthy cluster" while a running member has been connected to the leader
        # for less than 5 s (server/etcdserver/server.go mayRemoveMember, --strict-reconfig-check):
        # right after a join, or after a leadership change. kubeadm's RemoveMember retries with a
        # backoff; so does this, for up to 30 s. Any other refusal is final.
        until = time.time() + 30
        while True:
            err = None
            for ep in healthy:
                try:
                    etcd.call(ep, "/v3/cluster/member/remove", {"ID": str(m.get("ID"))})
                    log("removed member %s through %s; verifying" % (m.get("ID"), ep))
                    err = None
                    break
                except Exception as e:  # noqa: BLE001 - try the next healthy member
                    err = e
                    log("%s refused: %s" % (ep, e))
                    if "not found" in str(e):
                        err = None
                        break
            if err is None:
                break
            if "unhealthy cluster" not in str(err) or time.time() > until:
                return 4
            time.sleep(1)
    # Verified, not assumed: no member with this peer URL is left, and the rest is healthy.
    deadline = time.time() + 30
    while True:
        after = survey(etcd, healthy)
        left = [m for ms in after.values() for m in ms if is_self(m, a.self_peer_url)]
        if not left and all(etcd.healthy(ep) for ep in after):
            log("removed; members now: %s" % "; ".join(describe(m) for m in next(iter(after.values()), [])))
            return 0
        if time.time() > deadline:
            log("after the removal: still listed %s or not healthy" % [describe(m) for m in left])
            return 4
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
`;
