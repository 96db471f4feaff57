/**
 * Boot lab STAND-IN for the Kubernetes API endpoint (run inside the lab's network namespace):
 * answers `GET /readyz` with `ok` over TLS on each given address, port 6443, and logs each request
 * ("<address> <path>") to the file given first. Not an API server.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import { localServerPki } from "../cluster/helpers";

const [log, ...addresses] = process.argv.slice(2);
const pki = localServerPki();
for (const address of addresses) {
  https
    .createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
      fs.appendFileSync(log, `${address} ${req.url}\n`);
      res.writeHead(req.url === "/readyz" ? 200 : 404).end(req.url === "/readyz" ? "ok" : "");
    })
    .listen(6443, address);
}
