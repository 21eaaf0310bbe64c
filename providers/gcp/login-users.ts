// SSH login users of Compute Engine images: the distributions' cloud-init
// defaults; GCE's default image family is Debian.
import { loginUsers } from "../../shared/ssh/users";

export const gcpLoginUsers = loginUsers("debian");
