// SSH login users of Proxmox guests: the distributions' cloud-init defaults
// for cloud-init templates; other templates (and LXC) log in as root.
import { loginUsers } from "../../shared/ssh/users";

export const proxmoxLoginUsers = loginUsers("root");
