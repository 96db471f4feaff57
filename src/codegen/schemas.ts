/**
 * The public data vendored under `schemas/` (provider schema, CRDs, cloud-init schemas, Spark's key
 * list), read by the binding generator and the tests. Large files are stored gzip-compressed
 * (`name.gz`); `readSchemaFile("vsphere/schema.json")` finds either form. Each folder's README gives
 * origin, version and licence.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";

/** Repository root, from the compiled file's location (`dist/src/codegen`). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
export const SCHEMAS_DIR = path.join(REPO_ROOT, "schemas");

/** Absolute path of a vendored file as stored (plain, or with `.gz`). */
export function schemaFilePath(relative: string): string {
  const plain = path.join(SCHEMAS_DIR, relative);
  if (fs.existsSync(plain)) return plain;
  if (fs.existsSync(`${plain}.gz`)) return `${plain}.gz`;
  throw new Error(`vendored file schemas/${relative} (or ${relative}.gz) is missing`);
}

/** The text of a vendored file, decompressed when stored as `.gz`. */
export function readSchemaFile(relative: string): string {
  const file = schemaFilePath(relative);
  const bytes = fs.readFileSync(file);
  return (file.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8");
}
