// Compute Engine machine type names -> vCPUs, memory and how the type is
// billed. Google prices most types as vCPUs x family vCPU rate + GiB x family
// memory rate; shared-core types are the exception (f1-micro and g1-small
// have a flat price; e2-micro/small/medium bill a fraction of a vCPU), and
// custom types bill at the family's custom rates.
// Source: https://cloud.google.com/compute/docs/general-purpose-machines,
// .../compute-optimized-machines, .../shared-core-vms.

export type GceBilling =
  /** vCPUs x rate + GiB x rate of `rateFamily`. */
  | { kind: "resource"; rateFamily: string }
  /** Custom type: custom rates; memory beyond `maxStandardGiB` is extended memory. */
  | { kind: "custom"; rateFamily: string; extendedRateFamily: string; maxStandardGiB: number }
  /** A flat price per instance-hour (f1-micro, g1-small). */
  | { kind: "per-instance" };

export interface GceShape {
  name: string;
  /** Machine series, e.g. "e2", "n1", "c3". */
  series: string;
  /** vCPUs the guest sees. */
  vcpus: number;
  /** vCPUs billed: a fraction for the e2 shared-core types, else = vcpus. */
  billedVcpus: number;
  memoryGiB: number;
  sharedCore: boolean;
  billing: GceBilling;
}

/** GiB of memory per vCPU for each predefined class of each series. */
const PREDEFINED: Record<string, { classes: Record<string, number>; vcpus: number[] }> = {
  e2: { classes: { standard: 4, highmem: 8, highcpu: 1 }, vcpus: [2, 4, 8, 16, 32] },
  n1: { classes: { standard: 3.75, highmem: 6.5, highcpu: 0.9 }, vcpus: [1, 2, 4, 8, 16, 32, 64, 96] },
  n2: { classes: { standard: 4, highmem: 8, highcpu: 1 }, vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128] },
  n2d: { classes: { standard: 4, highmem: 8, highcpu: 1 }, vcpus: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224] },
  c2: { classes: { standard: 4 }, vcpus: [4, 8, 16, 30, 60] },
  c3: { classes: { standard: 4, highmem: 8, highcpu: 2 }, vcpus: [4, 8, 22, 44, 88, 176] },
  t2d: { classes: { standard: 4 }, vcpus: [1, 2, 4, 8, 16, 32, 48, 60] },
};

// n2d-highmem stops at 96 vCPUs and n2d-highcpu at 224; keep the table
// simple and accept the union, since a quote for a name GCE rejects does no
// harm and the backends validate types against the real API.

const SHARED_CORE: Record<string, { series: string; vcpus: number; billedVcpus: number; memoryGiB: number; billing: GceBilling }> = {
  "f1-micro": { series: "n1", vcpus: 1, billedVcpus: 0.2, memoryGiB: 0.6, billing: { kind: "per-instance" } },
  "g1-small": { series: "n1", vcpus: 1, billedVcpus: 0.5, memoryGiB: 1.7, billing: { kind: "per-instance" } },
  // e2 shared-core: 2 vCPUs visible, billed as 0.25 / 0.5 / 1 vCPU at e2 rates.
  "e2-micro": { series: "e2", vcpus: 2, billedVcpus: 0.25, memoryGiB: 1, billing: { kind: "resource", rateFamily: "e2" } },
  "e2-small": { series: "e2", vcpus: 2, billedVcpus: 0.5, memoryGiB: 2, billing: { kind: "resource", rateFamily: "e2" } },
  "e2-medium": { series: "e2", vcpus: 2, billedVcpus: 1, memoryGiB: 4, billing: { kind: "resource", rateFamily: "e2" } },
};

/** Custom machine types: series -> the most memory per vCPU before extended memory applies. */
const CUSTOM_MAX_GIB_PER_VCPU: Record<string, number> = { n1: 6.5, n2: 8, n2d: 8, e2: 8 };

const PREDEFINED_NAME = /^([a-z][a-z0-9]*)-([a-z]+)-(\d+)$/;
// "custom-4-8192" (N1), "e2-custom-4-8192", "n2-custom-4-8192-ext",
// "e2-custom-small-2048" (shared-core custom: micro 0.25, small 0.5, medium 1 vCPU).
const CUSTOM_NAME = /^(?:([a-z][a-z0-9]*)-)?custom-(\d+|micro|small|medium)-(\d+)(-ext)?$/;
const E2_CUSTOM_SHARED: Record<string, number> = { micro: 0.25, small: 0.5, medium: 1 };

/** The shape of a machine type name, or undefined when the name is not one we know. */
export function gceMachineShape(machineType: string): GceShape | undefined {
  const name = machineType.trim().toLowerCase().replace(/^.*\/machinetypes\//, "");
  const shared = SHARED_CORE[name];
  if (shared) return { name, sharedCore: true, ...shared };

  const custom = CUSTOM_NAME.exec(name);
  if (custom) {
    const series = custom[1] ?? "n1";
    const maxPerVcpu = CUSTOM_MAX_GIB_PER_VCPU[series];
    if (maxPerVcpu === undefined) return undefined;
    const memoryGiB = Number(custom[3]) / 1024;
    const sharedFraction = E2_CUSTOM_SHARED[custom[2]!];
    if (sharedFraction !== undefined && series !== "e2") return undefined;
    const vcpus = sharedFraction === undefined ? Number(custom[2]) : 2;
    const billedVcpus = sharedFraction ?? vcpus;
    if (!(vcpus > 0 && memoryGiB > 0)) return undefined;
    const extended = custom[4] !== undefined;
    return {
      name,
      series,
      vcpus,
      billedVcpus,
      memoryGiB,
      sharedCore: sharedFraction !== undefined,
      billing: {
        kind: "custom",
        rateFamily: `${series}_custom`,
        extendedRateFamily: `${series}_custom_extended`,
        // Without "-ext" GCE rejects memory above the limit, so all of it is standard.
        maxStandardGiB: extended ? maxPerVcpu * billedVcpus : Number.POSITIVE_INFINITY,
      },
    };
  }

  const predefined = PREDEFINED_NAME.exec(name);
  if (predefined) {
    const [, series, cls, count] = predefined as unknown as [string, string, string, string];
    const spec = PREDEFINED[series];
    const perVcpu = spec?.classes[cls];
    const vcpus = Number(count);
    if (perVcpu === undefined || !spec!.vcpus.includes(vcpus)) return undefined;
    return {
      name,
      series,
      vcpus,
      billedVcpus: vcpus,
      memoryGiB: roundGiB(vcpus * perVcpu),
      sharedCore: false,
      billing: { kind: "resource", rateFamily: series },
    };
  }
  return undefined;
}

// 3.75 x 3 = 11.25 is exact, but 0.9 x 96 is not in binary; machine memory
// is published with at most 2 decimals.
function roundGiB(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The series we can shape, for error messages. */
export const GCE_KNOWN_SERIES = Object.keys(PREDEFINED);
