/** The Pulumi program (`main` in Pulumi.yaml): `pulumi up` runs this. */
import { deployStack } from "./stack";

export = deployStack();
