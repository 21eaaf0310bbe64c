// A WatchInstances client in its own process, for tests of slow watchers:
// it prints "synced" once the initial state is in, and the test then stops
// it (SIGSTOP). A stopped process reads nothing, so the server meets real
// HTTP/2 flow control (a tiny window), exactly as with a hung client; a
// paused stream inside the test's own process would not do that (Bun's
// HTTP/2 client keeps reading).
//
//   bun shared/testing/frozen-watcher.ts HOST:PORT REGION '{"tag:k":"v"}'
import { ProviderClient } from "./client";
import { WatchSubscriber } from "./watch-client";

const [address, region, filters] = process.argv.slice(2);
const client = new ProviderClient(address!, undefined, { "grpc-node.flow_control_window": 1024, "grpc.use_local_subchannel_pool": 1 });
const watcher = new WatchSubscriber(client, { region, filters: JSON.parse(filters ?? "{}") });
await watcher.until((w) => w.lines().includes("SYNCED"), "SYNCED");
console.log("synced");
await watcher.until((w) => w.ended !== undefined, "end", 3_600_000).catch(() => undefined);
console.log(`ended ${watcher.ended?.code}`);
process.exit(0);
