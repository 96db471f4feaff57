/**
 * Where event logs can go, decided in one place: which `historyServer.logDirectory` URIs the image
 * can write, which access mode the event-log claim needs, and which pods must mount the claim.
 *
 * Facts (Spark 4.0, Hadoop 3.4.1):
 *  - Drivers write event logs through Hadoop's FileSystem for the URI's scheme
 *    (core/src/main/scala/org/apache/spark/deploy/history/EventLogFileWriters.scala:
 *    `Utils.getHadoopFileSystem(logBaseDir, hadoopConf)`); `start()` calls
 *    `requireLogBaseDirAsDirectory()`, whose `getFileStatus` throws FileNotFoundException for a
 *    directory that does not exist, so SparkContext fails to start. A `file:` event-log directory
 *    must therefore exist in every process that writes one: the claim must be mounted there.
 *  - Spark's binary release (and PyPI's pyspark, and the apache/spark images built from the release)
 *    carry only `hadoop-client-api` and `hadoop-client-runtime` (jars/): HDFS, WebHDFS and ViewFs
 *    are in them; the object-store connectors are not (they come with Spark's `hadoop-cloud` Maven
 *    profile, which the release is not built with). The lab shows the stock jars refusing `s3a://`:
 *    Hadoop's core-default.xml maps `fs.s3a.impl` to a class that is not there ("Class
 *    org.apache.hadoop.fs.s3a.S3AFileSystem not found", test/lab/spark-jobs.lab.ts).
 *  - For `s3a://` with Spark 4.0's Hadoop 3.4.1: `org.apache.hadoop:hadoop-aws:3.4.1` and
 *    `software.amazon.awssdk:bundle:2.24.6` (hadoop-project 3.4.1's `aws-java-sdk-v2.version`).
 */
import type { ImageRef } from "./image";

/** Schemes whose Hadoop FileSystem the stock image lacks, and the connector that provides it. */
export const OBJECT_STORE_SCHEMES: Readonly<Record<string, string>> = {
  s3a: "org.apache.hadoop:hadoop-aws:3.4.1 with software.amazon.awssdk:bundle:2.24.6",
  gs: "Google's GCS connector for Hadoop 3",
  abfs: "Hadoop's hadoop-azure module (3.4.1) and its dependencies",
  abfss: "Hadoop's hadoop-azure module (3.4.1) and its dependencies",
  wasb: "Hadoop's hadoop-azure module (3.4.1) and its dependencies",
  wasbs: "Hadoop's hadoop-azure module (3.4.1) and its dependencies",
  oss: "Hadoop's hadoop-aliyun module (3.4.1) and its dependencies",
  cos: "Hadoop's hadoop-cos module (3.4.1) and its dependencies",
};

/** The official images built from Spark's release: Docker Hub's `apache/spark` and `spark` (library). */
export function isStockImage(ref: ImageRef): boolean {
  const hub = ref.registry === undefined || ref.registry === "docker.io" || ref.registry === "index.docker.io" || ref.registry === "registry-1.docker.io";
  return hub && ["apache/spark", "spark", "library/spark"].includes(ref.repository);
}

/** Why `logDirectory` cannot work with `image`, or undefined. */
export function logDirectoryImageError(logDirectory: string, image: ImageRef): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(logDirectory)?.[1];
  if (scheme === undefined || OBJECT_STORE_SCHEMES[scheme] === undefined || !isStockImage(image)) return undefined;
  return (
    `"${logDirectory}" needs Hadoop's ${scheme}:// connector, which the stock image (${image.repository}, built from Spark's release) does not have: ` +
    `drivers and the History Server could not load its Hadoop FileSystem${scheme === "s3a" ? ' ("Class org.apache.hadoop.fs.s3a.S3AFileSystem not found")' : ""}. Build an image with ${OBJECT_STORE_SCHEMES[scheme]} in /opt/spark/jars ` +
    `(examples/spark-image, CONNECTOR_JARS) and set image, or use an hdfs:// location`
  );
}

/** Why the event-log claim cannot have `accessMode`, or undefined. */
export function eventLogAccessModeError(accessMode: string): string | undefined {
  if (accessMode === "ReadWriteMany") return undefined;
  return (
    `"${accessMode}" attaches the event-log claim to one node: the History Server holds it there, and drivers or the smoke test on ` +
    `any other node wait forever on a Multi-Attach error. Use ReadWriteMany (a class that offers it, e.g. vSphere CSI file volumes or NFS), or set logDirectory`
  );
}
