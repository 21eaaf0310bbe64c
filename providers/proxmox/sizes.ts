// Instance types for Proxmox: a size catalog (name -> vCPUs, memory, disk)
// plus a generic form "<cores>c<memory>g" / "<cores>c<memory>m" such as
// "2c4g" or "1c512m", so any shape can be asked for without editing the
// catalog. The operator can replace the defaults with a JSON file
// (PROXMOX_SIZE_CATALOG): {"small": {"vcpus": 1, "memoryGiB": 1, "diskGiB": 10}, ...}.
import { readFileSync } from "node:fs";
import { ConfigError } from "../../shared/config";
import { invalidArgument } from "../../shared/errors";
import { quote } from "../../shared/quote";

export interface Size {
  name: string;
  vcpus: number;
  memoryMiB: number;
  /** Root disk to grow the clone to, when set. */
  diskGiB?: number;
}

export const DEFAULT_SIZES: Size[] = [
  { name: "small", vcpus: 1, memoryMiB: 1024 },
  { name: "medium", vcpus: 2, memoryMiB: 4096 },
  { name: "large", vcpus: 4, memoryMiB: 8192 },
  { name: "xlarge", vcpus: 8, memoryMiB: 16384 },
];

const GENERIC = /^(\d{1,3})c(\d{1,7})(g|m)$/i;

export class SizeCatalog {
  constructor(readonly sizes: Size[]) {}

  static fromFile(path: string): SizeCatalog {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, "utf8"));
    } catch (err) {
      throw new ConfigError(`PROXMOX_SIZE_CATALOG: cannot read ${path} as JSON (${(err as Error).message})`);
    }
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError(`PROXMOX_SIZE_CATALOG: ${path} must hold an object of name -> {vcpus, memoryGiB, diskGiB?}`);
    const sizes: Size[] = [];
    for (const [name, v] of Object.entries(raw as Record<string, any>)) {
      const vcpus = Number(v?.vcpus);
      const memoryGiB = Number(v?.memoryGiB);
      const diskGiB = v?.diskGiB === undefined ? undefined : Number(v.diskGiB);
      if (!Number.isInteger(vcpus) || vcpus < 1 || !(memoryGiB > 0) || (diskGiB !== undefined && !(diskGiB > 0))) {
        throw new ConfigError(`PROXMOX_SIZE_CATALOG: size "${name}" needs integer vcpus >= 1, memoryGiB > 0 and optional diskGiB > 0`);
      }
      sizes.push({ name, vcpus, memoryMiB: Math.round(memoryGiB * 1024), diskGiB });
    }
    if (sizes.length === 0) throw new ConfigError(`PROXMOX_SIZE_CATALOG: ${path} defines no sizes`);
    return new SizeCatalog(sizes);
  }

  /** The size a request's `type` names; INVALID_ARGUMENT naming `field` otherwise. */
  resolve(type: string, field = "type"): Size {
    const named = this.sizes.find((s) => s.name === type);
    if (named) return named;
    const m = GENERIC.exec(type);
    if (m) {
      const vcpus = Number(m[1]);
      const memoryMiB = m[3]!.toLowerCase() === "g" ? Number(m[2]) * 1024 : Number(m[2]);
      if (vcpus >= 1 && memoryMiB >= 16) return { name: type.toLowerCase(), vcpus, memoryMiB };
    }
    throw invalidArgument(field, `unknown Proxmox size ${quote(type)}: use one of ${this.sizes.map((s) => s.name).join(", ")} or "<cores>c<GiB>g" such as "2c4g"`);
  }

  /** The type name a guest with this shape reports: a catalog name if one fits exactly. */
  nameFor(vcpus: number, memoryBytes: number): string {
    const memoryMiB = Math.round(memoryBytes / 1024 / 1024);
    const named = this.sizes.find((s) => s.vcpus === vcpus && s.memoryMiB === memoryMiB);
    if (named) return named.name;
    return memoryMiB % 1024 === 0 ? `${vcpus}c${memoryMiB / 1024}g` : `${vcpus}c${memoryMiB}m`;
  }
}
