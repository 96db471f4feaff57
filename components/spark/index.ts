/** The Spark layer: settings, sizing, rendered configuration and manifests, and the SparkPlatform component. */
export * from "./settings";
export * from "./image";
export * from "./units";
export * from "./sizing";
export * from "./conf";
export * from "./plan";
export * from "./podtemplates";
export * from "./submit";
export * from "./manifests";
export * from "./artifacts";
export * from "./platform";
export * from "./rbac";
export * from "./eventlog";
