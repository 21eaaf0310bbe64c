// The OpenStack Nova provider: flags, credentials and the backend factory.
import { healthTimeoutMs } from "../../shared/cloud/health-probe";
import { str, type Settings } from "../../shared/config";
import type { ProviderDefinition } from "../../shared/definition";
import { RATE_CARD_FLAGS } from "../../shared/pricing/rate-card";
import { OPENSTACK_FLAGS, resolveConfig, withLiveSecrets } from "./cloud-config";
import { openstackSandboxProfile } from "./sandbox-profile";
import { openstackIdentity } from "./provider-id";
import { openstackTenancy } from "./tenancy";

export const openstackProvider: ProviderDefinition = {
  ...openstackIdentity,
  flags: [
    ...OPENSTACK_FLAGS,
    {
      name: "floating-network",
      kind: "string",
      env: "SKYCLUST_OPENSTACK_FLOATING_NETWORK",
      help: "external network (name or id) floating IPs for public_ip come from; default: the cloud's only external network",
    },
    {
      name: "nova-notifications-url",
      kind: "string",
      env: "SKYCLUST_NOVA_NOTIFICATIONS_URL",
      secret: true,
      help: "amqp://USER:PASSWORD@HOST:5672/ of the bus Nova publishes versioned notifications on: WatchInstances then sees changes at once (default: it polls)",
    },
    ...RATE_CARD_FLAGS,
  ],
  helpFooter: [
    "Credentials: any complete form works, exactly as the openstack CLI takes them:",
    "  password:               OS_AUTH_URL, OS_USERNAME (or OS_USER_ID), OS_PASSWORD, OS_PROJECT_ID (or OS_PROJECT_NAME",
    "                          with OS_PROJECT_DOMAIN_NAME/_ID), OS_USER_DOMAIN_NAME/_ID (default domain: \"default\")",
    "  application credential: OS_AUTH_URL, OS_APPLICATION_CREDENTIAL_ID, OS_APPLICATION_CREDENTIAL_SECRET",
    "  clouds.yaml:            OS_CLOUD=NAME (OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/, /etc/openstack/)",
    "Secrets also as files re-read when they change: OS_PASSWORD_FILE, OS_APPLICATION_CREDENTIAL_SECRET_FILE.",
    "A sourced openrc file sets these variables. Prices: an operator rate card (--rate-card or SKYCLUST_RATE_*).",
  ].join("\n"),
  missingCredentials(settings: Settings, env) {
    return resolveConfig(settings, env).missing;
  },
  tenancy: openstackTenancy,
  sandboxProfile: (settings) => openstackSandboxProfile(str(settings, "region") ?? "RegionOne"),
  async createCloudBackend(settings, log, secrets) {
    const resolved = resolveConfig(settings);
    if (!resolved.config) throw new Error(`OpenStack credentials are incomplete: ${resolved.missing.join(", ")}`);
    const config = withLiveSecrets(resolved.config, settings, secrets);
    // Loaded only here so --help and --sandbox never pull in the cloud client.
    const [{ OpenStackBackend }, { loadRateCard }, { novaNotifications }] = await Promise.all([
      import("./backend"),
      import("../../shared/pricing/rate-card"),
      import("./notifications"),
    ]);
    const busUrl = str(settings, "nova-notifications-url");
    log.info("openstack backend", {
      auth_url: config.authUrl,
      auth: config.auth.kind,
      region: config.region,
      interface: config.interface,
      cloud: config.cloudName,
    });
    const backend = new OpenStackBackend(config, log, { rateCard: loadRateCard(settings), floatingNetwork: str(settings, "floating-network"), healthTimeoutMs: healthTimeoutMs(settings),
      notices: busUrl ? novaNotifications({ url: busUrl, log }) : undefined,
    });
    // No login here: the provider serves at once instead of after Keystone's
    // first answer (0.5-0.9 s on the testbed). The server starts warmUp()
    // once serving; the calls that need a token (or the default region from
    // its catalog) share that login.
    return backend;
  },
};
