// The WatchInstances suite (shared/conformance/watch-suite.ts) against this provider's real peer.
import { runWatchConformance } from "../../shared/conformance/watch-suite";
import { awsConformanceTarget } from "./testing/conformance-target";

runWatchConformance(awsConformanceTarget);
