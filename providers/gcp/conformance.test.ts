// The conformance suite (shared/conformance/suite.ts) against the recorded GCE server.
import { runConformance } from "../../shared/conformance/suite";
import { gcpConformanceTarget } from "./testing/conformance-target";

runConformance(gcpConformanceTarget);
