// The conformance suite (shared/conformance/suite.ts) against the real
// OpenStack testbed. If the testbed is down this FAILS with the command that
// starts it; it never skips.
import { runConformance } from "../../shared/conformance/suite";
import { openstackConformanceTarget } from "./testing/conformance-target";

runConformance(openstackConformanceTarget);
