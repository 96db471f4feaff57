/**
 * The boot lab's package mirror (run inside a lab network namespace): serves the folder given first
 * over plain HTTP on port 80 of each given address, and logs each request ("<address> <path>
 * <status>") to the file given second. The folder is a real flat Debian repository (`Packages`,
 * `Release` and the `.deb`s build-image.sh downloaded from the Debian mirror), standing in for the
 * internal mirror a template's apt sources point at.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";

const [dir, log, ...addresses] = process.argv.slice(2);
const root = path.resolve(dir);
for (const address of addresses) {
  http
    .createServer((req, res) => {
      const rel = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      const file = path.resolve(root, `.${rel}`);
      const ok = file.startsWith(`${root}${path.sep}`) && fs.existsSync(file) && fs.statSync(file).isFile();
      fs.appendFileSync(log, `${address} ${rel} ${ok ? 200 : 404}\n`);
      if (!ok) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-length": fs.statSync(file).size });
      if (req.method === "HEAD") res.end();
      else fs.createReadStream(file).pipe(res);
    })
    .listen(80, address);
}
