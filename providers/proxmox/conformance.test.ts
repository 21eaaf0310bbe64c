// The conformance suite (shared/conformance/suite.ts) against the recorded PVE API.
import { runConformance } from "../../shared/conformance/suite";
import { proxmoxConformanceTarget } from "./testing/conformance-target";

runConformance(proxmoxConformanceTarget);
