// SSH login users of OpenStack images: the distributions' cloud-init
// defaults; an unrecognised image gets cloud-init's own default user.
import { loginUsers } from "../../shared/ssh/users";

export const openstackLoginUsers = loginUsers("cloud-user");
