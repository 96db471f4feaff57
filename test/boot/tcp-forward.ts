/**
 * STAND-IN for the load balancer (run inside a lab network namespace) in real-kubeadm.boot.ts: a
 * plain TCP forward from each `<listen address>:<port>` given to `<target>:<port>`, where the real
 * API server of the booted control plane listens. The program's HAProxy does this in TCP mode
 * (components/cluster/haproxy.ts); like it, the forward accepts a connection while nothing answers
 * behind it, then closes it. Logs each connection ("<from> -> <target> <outcome>") to the log file.
 *
 *   node tcp-forward.js LOG TARGET PORT LISTEN...
 */
import * as fs from "node:fs";
import * as net from "node:net";

const [log, target, port, ...listens] = process.argv.slice(2);
for (const address of listens) {
  net
    .createServer((client) => {
      const upstream = net.connect(Number(port), target);
      const note = (what: string) => fs.appendFileSync(log, `${new Date().toISOString()} ${client.remoteAddress} -> ${target}:${port} ${what}\n`);
      upstream.once("connect", () => note("connected"));
      upstream.once("error", (e) => {
        note(`upstream ${(e as NodeJS.ErrnoException).code ?? e.message}`);
        client.destroy();
      });
      client.once("error", () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    })
    .listen(Number(port), address);
}
