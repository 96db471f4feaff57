/*
 * STAND-IN for Spark's examples jar, which PyPI's pyspark does not carry and Maven Central does not
 * publish (org.apache.spark:spark-examples_2.13 is refused there). The rendered submit scripts run
 * org.apache.spark.examples.SparkPi from $SPARK_HOME/examples/jars/spark-examples_2.13-<version>.jar;
 * lab/build-tools.sh compiles this class against pyspark's own jars into that path. It computes what
 * Spark's examples/src/main/scala/org/apache/spark/examples/SparkPi.scala computes (Apache-2.0), with
 * the same arguments; everything it calls (SparkSession, the Kubernetes scheduler backend) is Spark's.
 */
package org.apache.spark.examples;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

public final class SparkPi {
  public static void main(String[] args) {
    SparkSession spark = SparkSession.builder().appName("Spark Pi").getOrCreate();
    JavaSparkContext sc = new JavaSparkContext(spark.sparkContext());
    int slices = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    int n = (int) Math.min(100000L * slices, Integer.MAX_VALUE);
    List<Integer> l = new ArrayList<>(n);
    for (int i = 1; i < n; i++) l.add(i);
    long count = sc.parallelize(l, slices).map(i -> {
      double x = Math.random() * 2 - 1;
      double y = Math.random() * 2 - 1;
      return (x * x + y * y <= 1) ? 1 : 0;
    }).reduce(Integer::sum);
    System.out.println("Pi is roughly " + 4.0 * count / (n - 1));
    spark.stop();
  }
}
