# syntax=docker/dockerfile:1
# One image per provider, all from this file:
#   docker build --build-arg PROVIDER=aws -t ghcr.io/skyclust/skyclust-aws-provider:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg PROVIDER=gcp ...
#
# The build stage runs on the build machine's platform and cross-compiles
# for the target platform (Bun embeds the target's runtime), so a multi-arch
# build needs no emulation. The final image is distroless "cc" (glibc, CA
# certificates, no shell): the binary needs glibc and nothing else, and
# checks its own health with its `healthcheck` subcommand.
#
# The binary's path, port and health check are literal in one small stage
# per provider, selected by PROVIDER at the end: exec-form ENTRYPOINT and
# HEALTHCHECK never expand build arguments, and a literal EXPOSE cannot
# disagree with the binary's default port.
# scripts/deployment.test.ts assembles the final filesystem the way this file
# does and runs it read-only under chroot as uid 65532, and checks that this
# file, docker-compose.yml and deploy/ agree.

ARG PROVIDER=aws

# Exact tag: the Bun that bundles is the pinned Bun of package.json.
FROM --platform=$BUILDPLATFORM oven/bun:1.4.5-debian AS build
WORKDIR /src
# Dependencies first: this layer is reused until the lockfile changes, and by
# all four providers' builds. The build arguments come after it: an ARG in
# scope is part of the cache key of every later RUN (BuildKit and buildah
# alike), so declared above it each PROVIDER would install the same
# dependencies again.
COPY package.json bun.lock bunfig.toml ./
RUN bun install --frozen-lockfile --production
ARG PROVIDER
ARG TARGETARCH
COPY . .
RUN set -eu; \
    case "${TARGETARCH:-}" in \
      "") target="" ;; \
      amd64) target="--target bun-linux-x64" ;; \
      arm64) target="--target bun-linux-arm64" ;; \
      *) echo "no Bun runtime for linux/${TARGETARCH}" >&2; exit 1 ;; \
    esac; \
    bun scripts/build.ts "$PROVIDER" $target --outdir dist

# gcr.io/distroless/cc-debian12:nonroot, pinned by digest (the tag rolls).
# Refresh with: crane digest gcr.io/distroless/cc-debian12:nonroot
FROM gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f AS runtime
# 65532 is distroless's "nonroot"; numeric so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
WORKDIR /home/nonroot
LABEL org.opencontainers.image.vendor="SkyClust" \
      org.opencontainers.image.description="SkyClust cloud provider gRPC service (skyclust.provider.v1.CloudProviderService)"

FROM runtime AS provider-aws
LABEL org.opencontainers.image.title="skyclust-aws-provider"
COPY --from=build --chmod=0555 /src/dist/skyclust-aws-provider /skyclust-aws-provider
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/skyclust-aws-provider", "healthcheck"]
ENTRYPOINT ["/skyclust-aws-provider"]

FROM runtime AS provider-gcp
LABEL org.opencontainers.image.title="skyclust-gcp-provider"
COPY --from=build --chmod=0555 /src/dist/skyclust-gcp-provider /skyclust-gcp-provider
EXPOSE 50052
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/skyclust-gcp-provider", "healthcheck"]
ENTRYPOINT ["/skyclust-gcp-provider"]

FROM runtime AS provider-openstack
LABEL org.opencontainers.image.title="skyclust-openstack-provider"
COPY --from=build --chmod=0555 /src/dist/skyclust-openstack-provider /skyclust-openstack-provider
EXPOSE 50053
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/skyclust-openstack-provider", "healthcheck"]
ENTRYPOINT ["/skyclust-openstack-provider"]

FROM runtime AS provider-proxmox
LABEL org.opencontainers.image.title="skyclust-proxmox-provider"
COPY --from=build --chmod=0555 /src/dist/skyclust-proxmox-provider /skyclust-proxmox-provider
EXPOSE 50054
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/skyclust-proxmox-provider", "healthcheck"]
ENTRYPOINT ["/skyclust-proxmox-provider"]

# The image: the stage of the provider chosen with --build-arg PROVIDER=...
FROM provider-${PROVIDER}
