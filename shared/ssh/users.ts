// The login user an image expects. Cloud images create one well-known user
// for the injected key; guessing wrong costs an authentication failure, so
// the order is: operator override, instance tag, the backend's hint for the
// image, the image family recognized from its name, the cloud's default.
// Which user a family gets on a given cloud, and the cloud's default, are
// that cloud's knowledge: each provider declares its LoginUsers
// (providers/<cloud>/login-users.ts) and its backend carries them.

/** Instance tags that name the login user (first one present wins). */
export const USER_TAGS = ["ssh-user", "skyclust:ssh-user", "ssh_user"];

/** A cloud's login users: image family patterns (first match wins), then its default. */
export interface LoginUsers {
  families: readonly { match: RegExp; user: string }[];
  fallback: string;
}

/**
 * The distributions' own cloud-init default users, by family name. A cloud
 * whose images differ overrides a family by name (see loginUsers).
 */
export const CLOUD_INIT_FAMILIES = [
  { family: "ubuntu", match: /ubuntu/i, user: "ubuntu" },
  { family: "debian", match: /debian/i, user: "debian" },
  { family: "amazon-linux", match: /\b(al2023|amzn|amazon[-_ ]?linux)/i, user: "ec2-user" },
  { family: "cirros", match: /cirros/i, user: "cirros" },
  { family: "fedora", match: /fedora/i, user: "fedora" },
  { family: "rocky", match: /rocky/i, user: "rocky" },
  { family: "alma", match: /alma/i, user: "almalinux" },
  { family: "centos", match: /centos/i, user: "cloud-user" },
  { family: "rhel", match: /\brhel|red ?hat/i, user: "cloud-user" },
  { family: "suse", match: /\b(sles|suse)/i, user: "root" },
] as const;

export type ImageFamily = (typeof CLOUD_INIT_FAMILIES)[number]["family"];

/** A cloud's table: the cloud-init families with that cloud's exceptions, and its default user. */
export function loginUsers(fallback: string, overrides: Partial<Record<ImageFamily, string>> = {}): LoginUsers {
  return { families: CLOUD_INIT_FAMILIES.map((f) => ({ match: f.match, user: overrides[f.family] ?? f.user })), fallback };
}

/** The user for an image family named in `imageText` (image id or name), if recognized. */
export function userForImageFamily(users: LoginUsers, imageText: string): string | undefined {
  return users.families.find((f) => f.match.test(imageText))?.user;
}

export function userFromTags(tags: Record<string, string>): string | undefined {
  for (const t of USER_TAGS) {
    const v = tags[t]?.trim();
    if (v) return v;
  }
  return undefined;
}

/**
 * The fallback the service layer passes as userHint when the backend has no
 * hint: the image family from the instance's image id or name, else the
 * cloud's default.
 */
export function defaultLoginUser(users: LoginUsers, instance: { imageId?: string; extra?: Record<string, string> }): string {
  const imageText = [instance.imageId, instance.extra?.image_name, instance.extra?.image].filter(Boolean).join(" ");
  return userForImageFamily(users, imageText) ?? users.fallback;
}
