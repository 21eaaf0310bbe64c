// Each cloud's SSH login users (providers/<cloud>/login-users.ts): what the
// SSH RPCs use when neither the operator, a tag nor the backend names one.
import { expect, test } from "bun:test";
import { defaultLoginUser } from "../shared/ssh/users";
import { awsLoginUsers } from "./aws/login-users";
import { gcpLoginUsers } from "./gcp/login-users";
import { openstackLoginUsers } from "./openstack/login-users";
import { proxmoxLoginUsers } from "./proxmox/login-users";

test("login user by image family per cloud, then the cloud's default", () => {
  expect(defaultLoginUser(awsLoginUsers, { imageId: "ami-1", extra: { image_name: "debian-12-amd64-20240717" } })).toBe("admin");
  expect(defaultLoginUser(awsLoginUsers, { imageId: "ami-1", extra: { image_name: "CentOS-7" } })).toBe("centos");
  expect(defaultLoginUser(awsLoginUsers, { imageId: "ami-1", extra: { image_name: "RHEL-9.4" } })).toBe("ec2-user");
  expect(defaultLoginUser(awsLoginUsers, { imageId: "ami-0abc" })).toBe("ec2-user");
  expect(defaultLoginUser(gcpLoginUsers, { imageId: "projects/debian-cloud/global/images/debian-12-bookworm-v20240709" })).toBe("debian");
  expect(defaultLoginUser(gcpLoginUsers, { imageId: "projects/rhel-cloud/global/images/rhel-9" })).toBe("cloud-user");
  expect(defaultLoginUser(gcpLoginUsers, { imageId: "projects/x/global/images/custom" })).toBe("debian");
  expect(defaultLoginUser(openstackLoginUsers, { imageId: "0c3e", extra: { image_name: "Ubuntu 24.04" } })).toBe("ubuntu");
  expect(defaultLoginUser(openstackLoginUsers, { imageId: "0c3e" })).toBe("cloud-user");
  expect(defaultLoginUser(proxmoxLoginUsers, { imageId: "9000" })).toBe("root");
  expect(defaultLoginUser(proxmoxLoginUsers, { imageId: "9000", extra: { image: "debian-12-cloudinit" } })).toBe("debian");
});
