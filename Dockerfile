# One image for every Vigil service and the simulator; VIGIL_SERVICE picks what a container runs:
#   docker build -t vigil:local .
#   docker run -e VIGIL_SERVICE=watchdog -e NATS_URL=… vigil:local    # market-gateway (default), strategy,
#                                                                      # executor, watchdog or alpaca-sim
#   docker build -t vigil-watchdog --build-arg SERVICE=watchdog .      # or bake the default in
# Labels for a release: --build-arg VERSION=$(git describe --tags --always) --build-arg REVISION=$(git rev-parse HEAD)
#   --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) --build-arg SOURCE=<repository URL>.
# Built and started with Docker 26 (BuildKit's built-in Dockerfile frontend: no `# syntax=` line, so no registry
# is needed for it); size and build times in BENCHMARKS.md ("Container image"). The host path (Node 20.19+) is
# unchanged: the same dist/ runs on both, compiled for ES2023.
ARG NODE_IMAGE=node:24-slim

# --- pnpm: the lockfile's packages downloaded once, and every workspace manifest --------------------------
FROM ${NODE_IMAGE} AS pnpm
RUN npm install -g pnpm@12.4.2
WORKDIR /app
# Reused until the lockfile changes; both installs below link from this store without the network.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY package.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/service-kit/package.json packages/service-kit/
COPY packages/alpaca-sim/package.json packages/alpaca-sim/
COPY services/market-gateway/package.json services/market-gateway/
COPY services/strategy/package.json services/strategy/
COPY services/executor/package.json services/executor/
COPY services/watchdog/package.json services/watchdog/

# --- build: every workspace package compiled to dist/ ---------------------------------------------------
FROM pnpm AS build
RUN pnpm install --frozen-lockfile --offline
COPY tsconfig.base.json ./
COPY packages packages
COPY services services
RUN pnpm -r build

# --- prod-deps: the workspace with production dependencies only ---------------------------------------------
# One node_modules for all five entries (`pnpm deploy --prod` would copy the shared dependencies once per entry).
# Workspace packages are symlinks to packages/*; their `exports` resolve to dist/ without the vigil-source condition.
# `pnpm fetch` linked every package, dev ones too, into node_modules/.pnpm, and `--prod` leaves there what it
# finds (an image with typescript, vitest and biome in it, 227 MB of node_modules): start from the store alone.
FROM pnpm AS prod-deps
RUN rm -rf node_modules && pnpm install --frozen-lockfile --offline --prod --ignore-scripts

# --- runtime: node, production node_modules and dist/ only, as the unprivileged `node` user ---------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    # Listen on the container network so probes, Prometheus and the other containers reach them.
    HTTP_HOST=0.0.0.0 \
    SIM_HOST=0.0.0.0
WORKDIR /app
# Owned by root and read-only to `node`: a compromised service cannot rewrite the code it runs.
COPY --from=prod-deps /app ./
COPY --from=build /app/packages/contracts/dist packages/contracts/dist
COPY --from=build /app/packages/service-kit/dist packages/service-kit/dist
COPY --from=build /app/packages/alpaca-sim/dist packages/alpaca-sim/dist
COPY --from=build /app/services/market-gateway/dist services/market-gateway/dist
COPY --from=build /app/services/strategy/dist services/strategy/dist
COPY --from=build /app/services/executor/dist services/executor/dist
COPY --from=build /app/services/watchdog/dist services/watchdog/dist
COPY infra/docker/entrypoint.mjs infra/docker/
USER node
# Each service's own port (8081–8083, 8090; the simulator 8070) unless HTTP_PORT / SIM_PORT says otherwise.
EXPOSE 8070 8081 8082 8083 8090
# node:24-slim has no curl or wget: node probes /healthz (the simulator: /sim/status) on the service's port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "infra/docker/entrypoint.mjs", "health"]
ARG SERVICE=market-gateway
ENV VIGIL_SERVICE=${SERVICE}
# Last, so a new revision or date re-labels the image without rebuilding a layer.
ARG VERSION="" REVISION="" CREATED="" SOURCE=""
LABEL org.opencontainers.image.title="vigil" \
      org.opencontainers.image.description="Vigil: market-gateway, strategy, executor, watchdog and the Alpaca simulator over NATS" \
      org.opencontainers.image.source="${SOURCE}" \
      # No licence has been chosen yet (no LICENSE file; every package is private).
      org.opencontainers.image.licenses="NOASSERTION" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
CMD ["node", "infra/docker/entrypoint.mjs"]
