/**
 * Boot lab STAND-IN for the other control planes' etcd (run inside the lab's network namespace):
 * answers etcd's JSON gateway the way the bootstrap's `vsphere-spark-etcd-member` asks it, over TLS
 * on each given address, port 2379: `POST /v3/cluster/member/list` with the members (first those in
 * `<dir>/members.json`), `POST /v3/cluster/member/remove` `{"ID": …}` drops that member (every
 * address shares one list), `GET /health` with true; anything else 404. It asks for a client
 * certificate (authorized: signed by `<dir>/ca.crt`, the etcd CA) and logs
 * "<address> <method> <path> client=<subject CN or none> authorized=<bool>[ body]" to the file
 * given first. Not etcd: nothing joins it.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import type { TLSSocket } from "node:tls";

const [log, dir, ...addresses] = process.argv.slice(2);
const cert = fs.readFileSync(path.join(dir, "server.crt"), "utf8");
const key = fs.readFileSync(path.join(dir, "server.key"), "utf8");
const ca = fs.readFileSync(path.join(dir, "ca.crt"), "utf8");
let members = JSON.parse(fs.readFileSync(path.join(dir, "members.json"), "utf8")) as { ID: string }[];
for (const address of addresses) {
  https
    .createServer({ cert, key, ca, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const sock = req.socket as TLSSocket;
      const peer = sock.getPeerCertificate();
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        fs.appendFileSync(log, `${address} ${req.method} ${req.url} client=${peer?.subject?.CN ?? "none"} authorized=${sock.authorized}${body ? ` ${body}` : ""}\n`);
        res.setHeader("Content-Type", "application/json");
        if (req.method === "POST" && req.url === "/v3/cluster/member/list") return void res.end(JSON.stringify({ header: {}, members }));
        if (req.method === "POST" && req.url === "/v3/cluster/member/remove") {
          const id = String((JSON.parse(body || "{}") as { ID?: unknown }).ID);
          if (!members.some((m) => m.ID === id)) return void res.writeHead(404).end(JSON.stringify({ error: "etcdserver: member not found" }));
          members = members.filter((m) => m.ID !== id);
          return void res.end(JSON.stringify({ header: {}, members }));
        }
        if (req.url === "/health") return void res.end(JSON.stringify({ health: "true" }));
        res.writeHead(404).end(JSON.stringify({ error: "not served by the lab's etcd stand-in" }));
      });
    })
    .listen(2379, address);
}
