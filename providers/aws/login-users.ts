// SSH login users of EC2 images: AWS's own AMIs name users differently from
// the distributions' cloud-init defaults (Debian "admin", CentOS "centos",
// RHEL and SLES "ec2-user"), and unknown AMIs are usually Amazon Linux.
import { loginUsers } from "../../shared/ssh/users";

export const awsLoginUsers = loginUsers("ec2-user", { debian: "admin", centos: "centos", rhel: "ec2-user", suse: "ec2-user" });
