// WatchInstances flags: how often watches look at the cloud, and the bounds
// that keep a hostile or slow caller from costing memory or cloud calls.
import { ConfigError, num, type FlagSpec, type Settings } from "../config";
import type { EngineLimits, WatchTiming } from "./engine";

export const WATCH_FLAGS: FlagSpec[] = [
  { name: "watch-poll-fast-ms", kind: "number", env: "SKYCLUST_WATCH_POLL_FAST_MS", default: 2000, help: "WatchInstances: relist interval while an instance is between states" },
  { name: "watch-poll-slow-ms", kind: "number", env: "SKYCLUST_WATCH_POLL_SLOW_MS", default: 15000, help: "WatchInstances: relist interval while everything is settled (change notices, where the cloud sends them, come at once)" },
  { name: "watch-subscriber-buffer", kind: "number", env: "SKYCLUST_WATCH_SUBSCRIBER_BUFFER", default: 256, help: "WatchInstances: events one watcher may have waiting before it is cut off (RESOURCE_EXHAUSTED)" },
  { name: "watch-history", kind: "number", env: "SKYCLUST_WATCH_HISTORY", default: 1024, help: "WatchInstances: events kept per watch for resume tokens" },
  { name: "watch-max", kind: "number", env: "SKYCLUST_WATCH_MAX", default: 64, help: "WatchInstances: distinct watches (region and filter sets) at once; each one polls the cloud" },
  { name: "watch-linger-seconds", kind: "number", env: "SKYCLUST_WATCH_LINGER_SECONDS", default: 300, help: "WatchInstances: how long a watch nobody follows keeps its state for resume tokens" },
  { name: "watch-max-instances", kind: "number", env: "SKYCLUST_WATCH_MAX_INSTANCES", default: 10000, help: "WatchInstances: instances one watch may follow (narrow it with filters)" },
];

export interface WatchSettings {
  timing: WatchTiming;
  limits: EngineLimits;
  maxEngines: number;
  lingerMs: number;
  maxInstances: number;
}

function bounded(settings: Settings, name: string, fallback: number, min: number, max: number): number {
  const v = num(settings, name) ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError(`--${name}: expected a whole number from ${min} to ${max}, got ${v}`);
  return v;
}

export function watchSettings(settings: Settings): WatchSettings {
  const fastMs = bounded(settings, "watch-poll-fast-ms", 2000, 100, 3_600_000);
  const slowMs = bounded(settings, "watch-poll-slow-ms", 15000, fastMs, 3_600_000);
  return {
    timing: { fastMs, slowMs, errorBackoffMs: fastMs },
    limits: { subscriberBuffer: bounded(settings, "watch-subscriber-buffer", 256, 1, 100_000), history: bounded(settings, "watch-history", 1024, 1, 1_000_000) },
    maxEngines: bounded(settings, "watch-max", 64, 1, 10_000),
    lingerMs: bounded(settings, "watch-linger-seconds", 300, 0, 86_400) * 1000,
    maxInstances: bounded(settings, "watch-max-instances", 10000, 1, 1_000_000),
  };
}
