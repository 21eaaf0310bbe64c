// Compute Engine on-demand prices: machine shape x family rates from the
// bundled catalog.
import { invalidArgument, notFound } from "../../../shared/errors";
import type { CostComponent, PriceQuote } from "../../../shared/provider";
import type { GceCatalog, GceFamilyRates } from "./catalog-types";
import { GCE_PRICE_CATALOG } from "./catalog.generated";
import { GCE_KNOWN_SERIES, gceMachineShape, type GceShape } from "./gce-shapes";

/**
 * Hourly on-demand price of a machine type in a region. A machine type that
 * is not a Compute Engine shape is INVALID_ARGUMENT naming `instance_type`
 * (as CreateInstance answers an unknown type); a region or series without
 * prices is NOT_FOUND.
 */
export function gcpPriceQuote(machineType: string, region: string, catalog: GceCatalog = GCE_PRICE_CATALOG): PriceQuote {
  const shape = gceMachineShape(machineType);
  if (!shape) {
    throw invalidArgument(
      "instance_type",
      `machine type ${machineType} is not a Compute Engine machine type this price catalog knows (series ${GCE_KNOWN_SERIES.join(", ")}, custom types like e2-custom-4-8192, f1-micro, g1-small, e2-micro/small/medium)`,
    );
  }
  const where = `${catalog.source}, ${catalog.date}`;
  const breakdown = componentsFor(shape, region, catalog, where);
  const hourlyRate = breakdown.reduce((sum, c) => sum + c.hourlyRate, 0);
  return { hourlyRate, currency: catalog.currency, source: `${catalog.source}: ${catalog.origin}`, date: catalog.date, breakdown };
}

function componentsFor(shape: GceShape, region: string, catalog: GceCatalog, where: string): CostComponent[] {
  const billing = shape.billing;
  if (billing.kind === "per-instance") {
    const hourly = priceIn(catalog.perInstance[shape.name]?.[region], shape.name, region, catalog, where);
    return [{ name: "compute", hourlyRate: hourly, detail: `${shape.name} shared-core, flat price per instance-hour` }];
  }
  const rates = catalog.families[billing.rateFamily];
  if (!rates) throw notFound(`machine series ${billing.rateFamily} of ${shape.name} has no prices in the GCE price catalog (${where})`);
  const vcpuRate = priceIn(rates.vcpuHour[region], shape.name, region, catalog, where);
  const gibRate = priceIn(rates.gibHour[region], shape.name, region, catalog, where);
  const vcpuDetail = shape.sharedCore
    ? `${shape.billedVcpus} vCPU (shared-core share of ${shape.vcpus}) x ${vcpuRate}/vCPU-hour`
    : `${shape.billedVcpus} vCPU x ${vcpuRate}/vCPU-hour`;
  const components: CostComponent[] = [{ name: "vcpu", hourlyRate: shape.billedVcpus * vcpuRate, detail: vcpuDetail }];

  const standardGiB = billing.kind === "custom" ? Math.min(shape.memoryGiB, billing.maxStandardGiB) : shape.memoryGiB;
  components.push({ name: "memory", hourlyRate: standardGiB * gibRate, detail: `${standardGiB} GiB x ${gibRate}/GiB-hour` });
  const extendedGiB = shape.memoryGiB - standardGiB;
  if (billing.kind === "custom" && extendedGiB > 0) {
    const ext: GceFamilyRates | undefined = catalog.families[billing.extendedRateFamily];
    if (!ext) throw notFound(`no extended-memory rate for ${shape.name} in the GCE price catalog (${where})`);
    const extRate = priceIn(ext.gibHour[region], shape.name, region, catalog, where);
    components.push({ name: "extended_memory", hourlyRate: extendedGiB * extRate, detail: `${extendedGiB} GiB x ${extRate}/GiB-hour` });
  }
  return components;
}

function priceIn(price: number | undefined, machineType: string, region: string, catalog: GceCatalog, where: string): number {
  if (price !== undefined) return price;
  const knownRegion =
    Object.values(catalog.families).some((r) => region in r.vcpuHour) || Object.values(catalog.perInstance).some((p) => region in p);
  throw notFound(
    knownRegion
      ? `no price for machine type ${machineType} in region ${region} in the GCE price catalog (${where})`
      : `region ${region} is not in the GCE price catalog (${where})`,
  );
}
