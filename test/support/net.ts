/** Loopback helpers for tests that start real servers. */
import * as net from "node:net";

/** A free TCP port on 127.0.0.1 (the kernel's choice; closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
