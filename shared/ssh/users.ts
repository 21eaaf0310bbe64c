// The login user an image expects. Cloud images create one well-known user
// for the injected key; guessing wrong costs an authentication failure, so
// the order is: operator override, instance tag, the backend's hint for the
// image, the image family recognized from its name, the cloud's default.

/** Instance tags that name the login user (first one present wins). */
export const USER_TAGS = ["ssh-user", "skyclust:ssh-user", "ssh_user"];

// Family -> user per cloud. AWS Debian AMIs use "admin"; the cloud-init
// images elsewhere name the user after the distribution.
const FAMILIES: { match: RegExp; user: string; aws?: string }[] = [
  { match: /ubuntu/i, user: "ubuntu" },
  { match: /debian/i, user: "debian", aws: "admin" },
  { match: /\b(al2023|amzn|amazon[-_ ]?linux)/i, user: "ec2-user" },
  { match: /cirros/i, user: "cirros" },
  { match: /fedora/i, user: "fedora" },
  { match: /rocky/i, user: "rocky" },
  { match: /alma/i, user: "almalinux" },
  { match: /centos/i, user: "cloud-user", aws: "centos" },
  { match: /\brhel|red ?hat/i, user: "cloud-user", aws: "ec2-user" },
  { match: /\b(sles|suse)/i, user: "root", aws: "ec2-user" },
];

const CLOUD_DEFAULTS: Record<string, string> = {
  aws: "ec2-user",
  gcp: "debian", // GCE's default image family is Debian
  openstack: "cloud-user",
  proxmox: "root",
};

/** The user for an image family named in `imageText` (image id or name), if recognized. */
export function userForImageFamily(cloud: string, imageText: string): string | undefined {
  for (const f of FAMILIES) if (f.match.test(imageText)) return cloud === "aws" ? (f.aws ?? f.user) : f.user;
  return undefined;
}

export function cloudDefaultUser(cloud: string): string {
  return CLOUD_DEFAULTS[cloud] ?? "root";
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
export function defaultLoginUser(cloud: string, instance: { imageId?: string; extra?: Record<string, string> }): string {
  const imageText = [instance.imageId, instance.extra?.image_name, instance.extra?.image].filter(Boolean).join(" ");
  return userForImageFamily(cloud, imageText) ?? cloudDefaultUser(cloud);
}
