// WatchInstances instruments: the cloud-side cost of watching (polls by
// outcome, and change notices that triggered one) and how many watches and
// watchers there are. Fixed label sets only.
import { Counter, Gauge, type Registry } from "prom-client";

export class WatchMetrics {
  private readonly polls: Counter<"provider" | "outcome">;
  private readonly notices: Counter<"provider">;
  private readonly cutOff: Counter<"provider">;
  private counts: () => { engines: number; subscribers: number } = () => ({ engines: 0, subscribers: 0 });

  constructor(registry: Registry, private readonly provider: string) {
    const registers = [registry];
    this.polls = new Counter({
      name: "skyclust_watch_polls_total",
      help: "Relists made for WatchInstances (each is one listing of the watched region or regions, all pages), by outcome.",
      labelNames: ["provider", "outcome"],
      registers,
    });
    this.notices = new Counter({ name: "skyclust_watch_change_notices_total", help: "Change notices from the cloud (Nova notifications) that made a watch look at once.", labelNames: ["provider"], registers });
    this.cutOff = new Counter({ name: "skyclust_watch_subscribers_cut_off_total", help: "Watchers cut off for not reading (RESOURCE_EXHAUSTED).", labelNames: ["provider"], registers });
    const read = () => this.counts();
    new Gauge({
      name: "skyclust_watch_engines",
      help: "Distinct watches (region and filter sets) kept now, idle ones included.",
      registers,
      collect() {
        this.set(read().engines);
      },
    });
    new Gauge({
      name: "skyclust_watch_subscribers",
      help: "WatchInstances streams open now.",
      registers,
      collect() {
        this.set(read().subscribers);
      },
    });
  }

  poll(ok: boolean): void {
    this.polls.inc({ provider: this.provider, outcome: ok ? "ok" : "error" });
  }

  notice(): void {
    this.notices.inc({ provider: this.provider });
  }

  subscriberCutOff(): void {
    this.cutOff.inc({ provider: this.provider });
  }

  countWith(counts: () => { engines: number; subscribers: number }): void {
    this.counts = counts;
  }
}
