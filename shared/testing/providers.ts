// The four provider definitions, for tests that run the same checks on each.
import { awsProvider } from "../../providers/aws/definition";
import { gcpProvider } from "../../providers/gcp/definition";
import { openstackProvider } from "../../providers/openstack/definition";
import { proxmoxProvider } from "../../providers/proxmox/definition";

export const ALL_PROVIDERS = [awsProvider, gcpProvider, openstackProvider, proxmoxProvider];
