// The conformance suite (suite.ts) against the sandbox, with a real sshd
// behind every instance for the SSH case.
import { runConformance } from "./suite";
import { sandboxTarget } from "./sandbox-target";

runConformance(sandboxTarget);
