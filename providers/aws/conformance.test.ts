// The conformance suite (shared/conformance/suite.ts) against moto.
import { runConformance } from "../../shared/conformance/suite";
import { awsConformanceTarget } from "./testing/conformance-target";

runConformance(awsConformanceTarget);
