// PROXMOX_HOST accepts "host", "host:port", "[v6]:port" or an https URL; the
// API always lives under /api2/json on port 8006 unless told otherwise.
// Plain http is refused: the ticket login sends the password.
import { ConfigError } from "../../shared/config";

export interface PveEndpoint {
  /** "https://host:port/api2/json", no trailing slash. */
  baseUrl: string;
  /** Host name or address as written (no brackets), for TLS SNI and logs. */
  host: string;
  port: number;
}

export const DEFAULT_PVE_PORT = 8006;

export function parsePveHost(value: string): PveEndpoint {
  const raw = value.trim();
  if (raw === "") throw new ConfigError("PROXMOX_HOST is empty");
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`PROXMOX_HOST: "${raw}" is not a host, host:port or https URL`);
  }
  if (url.protocol !== "https:") throw new ConfigError(`PROXMOX_HOST: only https is supported (got ${url.protocol.replace(":", "")}); the API login sends the password`);
  if (url.username || url.password) throw new ConfigError("PROXMOX_HOST: put credentials in PROXMOX_USER/PROXMOX_PASSWORD or the token variables, not in the URL");
  // URL drops a scheme-default port (":443"), so read an explicit port from
  // the text; without one the port is 8006, even for a URL (documented).
  const explicitPort = /^[a-z][a-z0-9+.-]*:\/\/(?:\[[^\]]+\]|[^/:?#]+):(\d+)/i.exec(withScheme)?.[1];
  const port = explicitPort ? Number(explicitPort) : DEFAULT_PVE_PORT;
  if (!(port >= 1 && port <= 65535)) throw new ConfigError(`PROXMOX_HOST: port ${explicitPort} is out of range`);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  // A URL may already name the API root; anything else gets it appended.
  let path = url.pathname.replace(/\/+$/, "");
  if (!path.endsWith("/api2/json")) path = `${path}/api2/json`;
  return { baseUrl: `https://${hostForUrl}:${port}${path}`, host, port };
}
