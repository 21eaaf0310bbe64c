// SSH instruments: sessions opened (by what they were for and how the
// connect went), commands run (by how they ended) and tunnels open now.
// Labels come from fixed sets chosen here; never hosts, users or commands.
import { Counter, Gauge, type Registry } from "prom-client";

export type SshSessionKind = "exec" | "tunnel";
/** How connecting went: a fixed set (connect failures are the ones worth a dashboard). */
export type SshConnectOutcome = "ok" | "refused" | "error";
/** How a command ended. */
export type SshCommandOutcome = "exit_zero" | "exit_nonzero" | "timed_out" | "signal" | "error";

export class SshMetrics {
  private readonly sessions: Counter<"kind" | "outcome">;
  private readonly commands: Counter<"outcome">;
  private openTunnels: () => number = () => 0;

  constructor(registry: Registry) {
    const registers = [registry];
    this.sessions = new Counter({
      name: "skyclust_ssh_sessions_total",
      help: "SSH connections opened to instances, by purpose (exec, tunnel) and connect outcome.",
      labelNames: ["kind", "outcome"],
      registers,
    });
    this.commands = new Counter({
      name: "skyclust_ssh_commands_total",
      help: "ExecuteInstanceCommand commands run over SSH, by how they ended.",
      labelNames: ["outcome"],
      registers,
    });
    // Read at scrape time from the tunnel table: no inc/dec pair to get out of step.
    const read = () => this.openTunnels();
    new Gauge({
      name: "skyclust_ssh_tunnels_open",
      help: "SSH tunnels (CreateInstanceSSHTunnel) open now.",
      registers,
      collect() {
        this.set(read());
      },
    });
  }

  session(kind: SshSessionKind, outcome: SshConnectOutcome): void {
    this.sessions.inc({ kind, outcome });
  }

  command(outcome: SshCommandOutcome): void {
    this.commands.inc({ outcome });
  }

  /** Where the open-tunnel gauge reads its value (the SSH service's tunnel table). */
  countTunnelsWith(count: () => number): void {
    this.openTunnels = count;
  }
}
