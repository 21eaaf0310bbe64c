// The WatchInstances suite (watch-suite.ts) against the sandbox.
import { runWatchConformance } from "./watch-suite";
import { sandboxTarget } from "./sandbox-target";

runWatchConformance(sandboxTarget);
