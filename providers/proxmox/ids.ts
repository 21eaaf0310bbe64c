// Instance ids: "NODE/KIND/VMID" (e.g. "pve1/qemu/100", "pve1/lxc/913").
// The node tells a reader where the guest lives; lookups use the vmid,
// which PVE keeps unique across the cluster, so an id stays valid after a
// migration. PVE's own resource id ("qemu/100") and a bare vmid ("100")
// are accepted too.
import { invalidArgument } from "../../shared/errors";
import { quote } from "../../shared/quote";

export type GuestKind = "qemu" | "lxc";

export interface GuestRef {
  vmid: number;
  kind?: GuestKind;
  node?: string;
}

const FULL = /^([A-Za-z0-9](?:[A-Za-z0-9.-]{0,62}))\/(qemu|lxc)\/(\d{1,9})$/;
const SHORT = /^(qemu|lxc)\/(\d{1,9})$/;
const BARE = /^(\d{1,9})$/;

export function formatInstanceId(node: string, kind: GuestKind, vmid: number): string {
  return `${node}/${kind}/${vmid}`;
}

export function parseInstanceId(id: string, field = "instance_id"): GuestRef {
  const v = id.trim();
  let m = FULL.exec(v);
  let ref: GuestRef | undefined;
  if (m) ref = { node: m[1]!, kind: m[2] as GuestKind, vmid: Number(m[3]) };
  else if ((m = SHORT.exec(v))) ref = { kind: m[1] as GuestKind, vmid: Number(m[2]) };
  else if ((m = BARE.exec(v))) ref = { vmid: Number(m[1]) };
  if (!ref || ref.vmid < 100) {
    throw invalidArgument(field, `${quote(v)} is not a Proxmox instance id; expected NODE/KIND/VMID such as "pve1/qemu/100" (KIND is qemu or lxc, VMID at least 100)`);
  }
  return ref;
}
